"""Benchmark reference: talk 004's XML-RPC Echoer on Twisted Web, on a port of our choosing.

Usage: python xmlrpc_echo.py [PORT]     (0, the default, asks the system for a free port)
Prints "listening on 127.0.0.1:<port>" so the scripts read its port like the others'.
Only `echo` is served: the benchmark calls nothing else.
"""
import sys

from twisted.internet import reactor
from twisted.web import server, xmlrpc


class Echoer(xmlrpc.XMLRPC):
    def xmlrpc_echo(self, *args):
        return args


def main():
    port_number = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    site = server.Site(Echoer())
    port = reactor.listenTCP(port_number, site, interface="127.0.0.1", backlog=4096)
    print("listening on 127.0.0.1:%d" % port.getHost().port, flush=True)
    reactor.run()


main()
