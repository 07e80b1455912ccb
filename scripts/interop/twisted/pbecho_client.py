"""The pbecho client in current Twisted: the reference our pbecho-server is tested against.

Usage: python pbecho_client.py PORT [USER PASSWORD [TEXT]]     (defaults: guest guest "hello world")
Logs in on 127.0.0.1:PORT, sends echo(TEXT) and error() back to back and prints, as the talk's
client does, "connected.", "Message received: <text>" and "error received: <class>", the failure
trapped by its class, pbecho.DefinedError. It exits 0 after the error, or prints
"login failed: <type>: <message>" (or "unexpected failure: ...") and exits 1.
"""
import sys

from twisted.cred import credentials
from twisted.internet import reactor
from twisted.spread import pb

from pbecho import DefinedError

status = 0


def type_name(failure):
    """The failure's class name: a copied failure holds it as bytes."""
    name = failure.type
    if isinstance(name, bytes):
        return name.decode()
    return "%s.%s" % (name.__module__, name.__qualname__)


def give_up(failure, what):
    global status
    status = 1
    print("%s: %s: %s" % (what, type_name(failure), failure.getErrorMessage()), flush=True)
    if reactor.running:
        reactor.stop()


def success(message):
    print("Message received:", message, flush=True)


def failure(error):
    if not error.check(DefinedError):
        give_up(error, "unexpected failure")
        return
    trapped = error.trap(DefinedError)
    print("error received:", trapped, flush=True)
    reactor.stop()


def connected(perspective, text):
    perspective.callRemote("echo", text).addCallbacks(success, failure)
    perspective.callRemote("error").addCallbacks(success, failure)
    print("connected.", flush=True)


def main():
    port = int(sys.argv[1])
    user = sys.argv[2].encode() if len(sys.argv) > 2 else b"guest"
    password = sys.argv[3].encode() if len(sys.argv) > 3 else b"guest"
    text = sys.argv[4] if len(sys.argv) > 4 else "hello world"
    factory = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", port, factory)
    login = factory.login(credentials.UsernamePassword(user, password))
    login.addCallback(connected, text)
    login.addErrback(give_up, "login failed")
    reactor.run()
    sys.exit(status)


if __name__ == "__main__":
    main()
