"""A PB client of the training's key-value store in current Twisted: the reference our
keyvalue-pb server is tested against.

Usage: python keyvalue_pb_client.py PORT [CALL...]
Each CALL is a Python tuple, the method's name and its arguments, e.g. "('set', b'a', 'x')": literals,
and the types jelly carries besides, Decimal, datetime, date, time and timedelta, by those names.
Without any, it runs its own scenario: bytes and text keys and values, a list value, missing keys,
a delete and an unknown method. The calls go one after the other on the root object of
127.0.0.1:PORT; for each it prints one line, "<method>: <repr of the answer>" or
"<method>: <failure type>: <getErrorMessage()>", then it exits 0 (1 if it could not connect).
"""
import datetime
import decimal
import sys

from twisted.internet import defer, reactor, task
from twisted.python import failure
from twisted.spread import pb

SCENARIO = [
    ("set", b"a", b"value"),
    ("get", b"a"),
    ("set", "t", "two words"),
    ("get", "t"),
    ("set", b"l", ["x", b"y", 1, -2, 2.5, None, True, (1, 2), {"k": b"v"}]),
    ("get", b"l"),
    ("get", b"missing"),
    ("get", "missing"),
    ("delete", b"a"),
    ("get", b"a"),
    ("delete", b"a"),
    ("nosuch", b"a"),
]


def type_name(error):
    """The failure's class name: a copied failure holds it as bytes."""
    name = error.type
    if isinstance(name, bytes):
        return name.decode()
    return "%s.%s" % (name.__module__, name.__qualname__)


def settled(deferred):
    """A Deferred that always succeeds, with the answer or with the failure itself (an inline
    callback would otherwise have the failure raised into it)."""
    return deferred.addCallbacks(lambda answer: (answer,), lambda error: (error,))


def describe(result):
    if isinstance(result, failure.Failure):
        return "%s: %s" % (type_name(result), result.getErrorMessage())
    return repr(result)


@defer.inlineCallbacks
def run(reactor, port, calls):
    factory = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", port, factory)
    (root,) = yield settled(factory.getRootObject())
    if isinstance(root, failure.Failure):
        print("connection failed: %s" % describe(root), flush=True)
        raise SystemExit(1)
    for method, *args in calls:
        (result,) = yield settled(root.callRemote(method, *args))
        print("%s: %s" % (method, describe(result)), flush=True)
    factory.disconnect()


# The names a CALL may use beyond literals; nothing else is in reach (no builtins).
NAMES = {
    "Decimal": decimal.Decimal,
    "datetime": datetime.datetime,
    "date": datetime.date,
    "time": datetime.time,
    "timedelta": datetime.timedelta,
}


def main():
    port = int(sys.argv[1])
    calls = [eval(call, {"__builtins__": {}}, NAMES) for call in sys.argv[2:]] or SCENARIO
    task.react(run, [port, calls])


if __name__ == "__main__":
    main()
