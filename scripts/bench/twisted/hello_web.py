"""Benchmark reference: talk 001's Twisted Web hello page, on a port of our choosing.

Usage: python hello_web.py [PORT]      (0, the default, asks the system for a free port)
Prints "listening on 127.0.0.1:<port>" so the scripts read its port like the others'.
"""
import sys

from twisted.internet import reactor
from twisted.web import resource, server


class Hello(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"<html><body>Hello Twisted</body></html>"


def main():
    port_number = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    port = reactor.listenTCP(port_number, server.Site(Hello()), interface="127.0.0.1", backlog=4096)
    print("listening on 127.0.0.1:%d" % port.getHost().port, flush=True)
    reactor.run()


main()
