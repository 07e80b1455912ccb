"""The training's ipcs.py in current Twisted: a PB root whose get(x) answers x unchanged; the
reference our ipc-client is tested against.

Usage: python ipcs.py [PORT]     (0 asks the system for a free port; default 8789)
Prints "listening on 127.0.0.1:<port>" and nothing else.
"""
import sys

from twisted.internet import reactor
from twisted.spread import pb


class Echo(pb.Root):
    def remote_get(self, value):
        return value


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8789
    listening = reactor.listenTCP(port, pb.PBServerFactory(Echo()), interface="127.0.0.1")
    print("listening on 127.0.0.1:%d" % listening.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
