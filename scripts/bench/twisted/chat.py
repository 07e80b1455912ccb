"""Benchmark reference: the chat server of talk 002 on Twisted, without its log.

Usage: python chat.py [PORT]        (0, the default, asks the system for a free port)
Prints "Chatting on port <port>." so the scripts read its port like the others'.
"""
import sys

from twisted.internet import protocol, reactor


class Chat(protocol.Protocol):
    def connectionMade(self):
        self.factory.users.add(self)
        self.transport.write(self.factory.banner)

    def dataReceived(self, data):
        for user in self.factory.users:
            if user is not self:
                user.transport.write(data)

    def connectionLost(self, reason):
        self.factory.users.discard(self)


class ChatFactory(protocol.ServerFactory):
    protocol = Chat

    def __init__(self):
        self.users = set()
        self.banner = b"Welcome to NetCatChat!\r\n"


def main():
    port_number = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    port = reactor.listenTCP(port_number, ChatFactory(), interface="127.0.0.1", backlog=4096)
    print("Chatting on port %d." % port.getHost().port, flush=True)
    reactor.run()


main()
