"""The training's key-value store over PB (keyvalue_pb.py) in current Twisted, without the 15-second
expiry: the reference our key-value PB clients are tested against.

Usage: python keyvalue_pb_server.py [PORT]     (0 asks the system for a free port; default 8789)
Prints "listening on 127.0.0.1:<port>". The root object has get(key) (the value, or KeyError),
set(key, value) (answers the key) and delete(key) (answers None, or KeyError).
"""
import sys

from twisted.internet import reactor
from twisted.spread import pb


class KeyValuePB(pb.Root):
    def __init__(self):
        self.store = {}

    def remote_get(self, key):
        return self.store[key]

    def remote_set(self, key, value):
        self.store[key] = value
        return key

    def remote_delete(self, key):
        del self.store[key]


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8789
    factory = pb.PBServerFactory(KeyValuePB())
    listening = reactor.listenTCP(port, factory, interface="127.0.0.1")
    print("listening on 127.0.0.1:%d" % listening.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
