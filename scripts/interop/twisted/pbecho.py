"""The pbecho example's shared module (talk 004, pages 18-22), in current Twisted.

The server and the client both import DefinedError from here, so that the class's qualified name
is pbecho.DefinedError on both sides: a Twisted client traps a remote failure by that name, so a
server in another language must send the same one. The realm and its avatar live here too, so
that the server's "logged out" line names pbecho.SimplePerspective as the talk's output does.
"""
from zope.interface import implementer

from twisted.cred import portal
from twisted.spread import pb


class DefinedError(pb.Error):
    """An error the server raises on purpose: a pb.Error, so it is sent without being logged."""


class SimplePerspective(pb.Avatar):
    """What a logged-in user gets: echo prints and returns its argument, error fails."""

    def perspective_echo(self, text):
        print("echoing", text, flush=True)
        return text

    def perspective_error(self):
        raise DefinedError("exception!")

    def logout(self):
        print(self, "logged out", flush=True)


@implementer(portal.IRealm)
class SimpleRealm:
    """Gives each successful login a fresh SimplePerspective, and its logout."""

    def requestAvatar(self, avatarId, mind, *interfaces):
        if pb.IPerspective not in interfaces:
            raise NotImplementedError("pbecho only serves PB perspectives")
        avatar = SimplePerspective()
        return pb.IPerspective, avatar, avatar.logout
