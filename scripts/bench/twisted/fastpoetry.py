"""Benchmark reference: a fast poetry server on Twisted (write the poem, close).

Usage: python fastpoetry.py POETRY_FILE
Prints "Serving <file> on port <port>." so the scripts read its port like the others'.
"""
import sys

from twisted.internet import protocol, reactor


class Poetry(protocol.Protocol):
    def connectionMade(self):
        self.transport.write(self.factory.poem)
        self.transport.loseConnection()


def main():
    with open(sys.argv[1], "rb") as poem_file:
        poem = poem_file.read()
    factory = protocol.ServerFactory()
    factory.protocol = Poetry
    factory.poem = poem
    port = reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=4096)
    print("Serving %s on port %d." % (sys.argv[1], port.getHost().port), flush=True)
    reactor.run()


main()
