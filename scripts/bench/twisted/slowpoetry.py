"""Benchmark reference: a slow poetry server on Twisted, each client paced by callLater.

Usage: python slowpoetry.py POETRY_FILE DELAY_SECONDS CHARS
Prints "Serving <file> on port <port>." so the scripts read its port like the others'.
"""
import sys

from twisted.internet import protocol, reactor


class SlowPoetry(protocol.Protocol):
    def connectionMade(self):
        self.sent = 0
        self.call = reactor.callLater(0, self.send_next)

    def send_next(self):
        text = self.factory.poem
        if self.sent >= len(text):
            self.call = None
            self.transport.loseConnection()
            return
        chunk = text[self.sent:self.sent + self.factory.chars]
        self.sent += len(chunk)
        self.transport.write(chunk.encode("utf-8"))
        self.call = reactor.callLater(self.factory.delay, self.send_next)

    def connectionLost(self, reason):
        if self.call is not None and self.call.active():
            self.call.cancel()


def main():
    with open(sys.argv[1], encoding="utf-8") as poem_file:
        poem = poem_file.read()
    factory = protocol.ServerFactory()
    factory.protocol = SlowPoetry
    factory.poem = poem
    factory.delay = float(sys.argv[2])
    factory.chars = int(sys.argv[3])
    port = reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=4096)
    print("Serving %s on port %d." % (sys.argv[1], port.getHost().port), flush=True)
    reactor.run()


main()
