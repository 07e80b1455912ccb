"""Prints the table of a benchmark that measured servers over several rounds.

Each row given is `ROUND SERVER RATE CPU_US`: one server's requests (or calls) per second and its
CPU time per request in microseconds, in one round. The table shows each server's medians over the
rounds; the ratios between our server and the other one are taken within each round (both ran
under the same conditions), then their median is shown.

    python3 medians.py --unit call --ours xmlrpc-server --other twisted [--target 20] ROW...
"""
import argparse
import statistics

parser = argparse.ArgumentParser()
parser.add_argument("--unit", required=True, help="what is counted: call, request")
parser.add_argument("--ours", required=True, help="our server's name in the rows")
parser.add_argument("--other", required=True, help="the server ours is compared with")
parser.add_argument("--target", type=float, help="the rate ratio ours should reach")
parser.add_argument("rows", nargs="*")
args = parser.parse_args()

table = {}
for row in args.rows:
    round_, server, *figures = row.split()
    table.setdefault(server, {})[round_] = [float(f) for f in figures]

rate_title, cpu_title = f"{args.unit}s/s", f"server CPU us/{args.unit}"
print(f"{'server':<16} {rate_title:>10} {cpu_title:>20}")
for server, runs in table.items():
    medians = [statistics.median(run[i] for run in runs.values()) for i in range(2)]
    print(f"{server:<16} {medians[0]:>10.0f} {medians[1]:>20.2f}")


def ratios(a, b, field):
    first, second = table.get(a, {}), table.get(b, {})
    return [first[r][field] / second[r][field] for r in first if r in second]


def show(title, values, target=""):
    if values:
        rounds = ", ".join(f"{value:.1f}" for value in values)
        print(f"{title}: {statistics.median(values):.1f}{target}; rounds: {rounds}")


target = f" (target: at least {args.target:g})" if args.target else ""
show(f"{args.ours} / {args.other}, {args.unit}s per second", ratios(args.ours, args.other, 0), target)
show(f"{args.other} / {args.ours}, CPU per {args.unit}", ratios(args.other, args.ours, 1))
