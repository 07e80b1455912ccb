"""Benchmark reference: a folder served by Twisted Web's static.File (talk 001's Site(File('.'))).

Usage: python static_web.py FOLDER [PORT]
Prints "listening on 127.0.0.1:<port>" so the scripts read its port like the others'.
"""
import sys

from twisted.internet import reactor
from twisted.web import server, static


def main():
    folder = sys.argv[1]
    port_number = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    site = server.Site(static.File(folder))
    port = reactor.listenTCP(port_number, site, interface="127.0.0.1", backlog=4096)
    print("listening on 127.0.0.1:%d" % port.getHost().port, flush=True)
    reactor.run()


main()
