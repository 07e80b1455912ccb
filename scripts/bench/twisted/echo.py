"""Benchmark reference: the echo server on Twisted (talk 004's, on a port of our choosing).

Usage: python echo.py [PORT]        (0, the default, asks the system for a free port)
Prints "Echoing on port <port>." so the scripts read its port like the others'.
"""
import sys

from twisted.internet import protocol, reactor


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


def main():
    port_number = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    factory = protocol.ServerFactory()
    factory.protocol = Echo
    port = reactor.listenTCP(port_number, factory, interface="127.0.0.1", backlog=4096)
    print("Echoing on port %d." % port.getHost().port, flush=True)
    reactor.run()


main()
