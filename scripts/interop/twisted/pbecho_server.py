"""The pbecho server in current Twisted: the reference our pbecho-server is tested and measured
against.

Usage: python pbecho_server.py [PORT]     (0 asks the system for a free port; default 8787)
Prints "listening on 127.0.0.1:<port>" first, then "echoing <text>" for each echo and
"<avatar> logged out" when a client lets go of its avatar. The one account is guest/guest.
"""
import sys

from twisted.cred import checkers, portal
from twisted.internet import reactor
from twisted.spread import pb

from pbecho import SimpleRealm


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else pb.portno
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(guest=b"guest")
    factory = pb.PBServerFactory(portal.Portal(SimpleRealm(), [checker]))
    listening = reactor.listenTCP(port, factory, interface="127.0.0.1")
    print("listening on 127.0.0.1:%d" % listening.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
