"""Benchmark reference: the training's key-value server on Twisted, without its log.

Usage: python keyvalue_server.py [PORT]     (0, the default, asks the system for a free port)
Prints "listening on 127.0.0.1:<port>" so the scripts read its port like the others'.

The store is the training's keyvalue.py: a dictionary, and one callLater per key that deletes it
15 seconds after it was last set. The protocol is keyvalue_server.py's LineReceiver, with the one
change the benchmark needs: a value is the rest of the line, as in ours (the original kept only
its first word; the benchmark's values have no spaces, so the answers are the same).
"""
import sys

from twisted.internet import protocol, reactor
from twisted.protocols import basic

TTL = 15


class KeyValueStore(object):
    def __init__(self):
        self.store = {}
        self.timers = {}

    def get(self, key):
        return self.store[key]

    def set(self, key, value):
        timer = self.timers.pop(key, None)
        if timer is not None and timer.active():
            timer.cancel()
        self.store[key] = value
        self.timers[key] = reactor.callLater(TTL, self.expire, key)

    def delete(self, key):
        timer = self.timers.pop(key, None)
        if timer is not None and timer.active():
            timer.cancel()
        del self.store[key]

    def expire(self, key):
        self.timers.pop(key, None)
        self.store.pop(key, None)


class KeyValueStoreProtocol(basic.LineReceiver):
    def lineReceived(self, line):
        words = line.split(None, 2)
        command = words[0] if words else b""
        store = self.factory.store
        if command == b"get" and len(words) > 1:
            key = words[1]
            try:
                self.sendLine(b"VALUE " + key + b" " + store.get(key))
            except KeyError:
                self.sendLine(b"GET_NOT_FOUND " + key)
        elif command == b"set" and len(words) > 2:
            store.set(words[1], words[2].strip())
            self.sendLine(b"STORED")
        elif command == b"delete" and len(words) > 1:
            try:
                store.delete(words[1])
                self.sendLine(b"DELETED " + words[1])
            except KeyError:
                self.sendLine(b"DEL_NOT_FOUND " + words[1])
        else:
            self.sendLine(b"ERROR")


class KeyValueStoreFactory(protocol.ServerFactory):
    protocol = KeyValueStoreProtocol

    def __init__(self):
        self.store = KeyValueStore()


def main():
    port_number = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    port = reactor.listenTCP(
        port_number, KeyValueStoreFactory(), interface="127.0.0.1", backlog=4096
    )
    print("listening on 127.0.0.1:%d" % port.getHost().port, flush=True)
    reactor.run()


main()
