"""The `tusk` command: run the embedded cluster, workers and API servers, the crash test and the benchmarks."""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import sys
from pathlib import Path

from depots.errors import BrokerUnavailableError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tusk", description="Tusk: a Mastodon-compatible server on a dataflow engine")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the embedded cluster with every module")
    run.add_argument("--data", type=Path, default=Path("data"), help="data directory (default: ./data)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--no-rate-limits", action="store_true", help="serve without rate limits (load tests)")
    run.add_argument(
        "--rate-limit-exempt", action="append", default=[], type=cidr, metavar="CIDR", help="never throttle it"
    )

    api = commands.add_parser("api", help="serve the Mastodon API over tusk workers (stateless; run any number)")
    api.add_argument("--broker", required=True, help="kafka://HOST:PORT[/NAMESPACE], as given to the workers")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8080)
    api.add_argument("--base-url", help="public URL of the API (default: http://HOST:PORT)")
    api.add_argument("--tasks", type=int, default=4, help="the workers' task count (default: 4)")
    api.add_argument("--media-store", default="file:media", help="file:DIR or s3://BUCKET?endpoint=URL (shared)")
    api.add_argument("--no-rate-limits", action="store_true", help="serve without rate limits (load tests)")
    api.add_argument(
        "--rate-limit-exempt", action="append", default=[], type=cidr, metavar="CIDR", help="never throttle it"
    )
    api.add_argument(
        "--secret-key-file",
        type=Path,
        help="file holding the instance secret every API server shares (default: $TUSK_SECRET_KEY, else random)",
    )

    operations = commands.add_parser("api-operations", help="write docs/api-operations.md (served spec operations)")
    operations.add_argument("--check", action="store_true", help="only say whether the file is up to date")

    worker = commands.add_parser("worker", help="run one worker of the distributed runtime (docs/kafka.md)")
    worker.add_argument("--broker", required=True, help="kafka://HOST:PORT[/NAMESPACE]")
    worker.add_argument(
        "--data", type=Path, required=True, help="data directory (one per machine; with --changelog, one per worker)"
    )
    worker.add_argument(
        "--module",
        action="append",
        default=None,
        help="modules to host: mastodon (every Mastodon module, the default), fanout (relationships, core) or ledger",
    )
    worker.add_argument("--tasks", type=int, default=4, help="tasks per module (default: 4)")
    worker.add_argument("--port", type=int, default=0, help="RPC port on 127.0.0.1 (default: any free one)")
    worker.add_argument("--session-timeout-ms", type=int, default=6_000, help="group session timeout")
    worker.add_argument("--changelog", action="store_true", help="log task stores to their changelog topics")
    worker.add_argument("--checkpoints", help="s3://BUCKET[/PREFIX][?endpoint=URL]: checkpoints (implies --changelog)")
    worker.add_argument("--standbys", type=int, default=0, help="warm standby copies per task (implies --changelog)")
    worker.add_argument(
        "--checkpoint-records", type=int, default=10_000, help="checkpoint a task every N changelog records (10,000)"
    )
    worker.add_argument(
        "--checkpoint-seconds", type=float, default=300.0, help="... or every S seconds if it wrote anything (300)"
    )

    crash = commands.add_parser("crashtest", help="kill an appending process at random moments and check the data")
    crash.add_argument("--seconds", type=float, default=60.0)
    crash.add_argument("--seed", type=int, default=1)
    crash.add_argument("--json", type=Path, help="write the report here")

    chaos = commands.add_parser("chaos-workers", help="SIGKILL random workers under load; verify against a replay")
    chaos.add_argument("--seconds", type=float, default=None, help="how long to keep killing (default: 120)")
    chaos.add_argument("--workers", type=int, default=3, help="worker processes (2 to 4; default: 3)")
    chaos.add_argument("--kills", type=int, default=None, help="stop after this many kills")
    chaos.add_argument("--modules", default="ledger", help="module set the workers host (default: ledger)")
    chaos.add_argument("--seed", type=int, default=1, help="seed of the kill schedule and the load")
    chaos.add_argument("--session-timeout-ms", type=int, default=3_000, help="the workers' group session timeout")
    chaos.add_argument("--broker", help="kafka://HOST:PORT (default: start a tansu of its own on loopback)")
    chaos.add_argument("--data", type=Path, help="keep the workers' data and logs here (default: a temporary dir)")
    chaos.add_argument("--quick", action="store_true", help="the test suite's run: three kills, short pauses")
    chaos.add_argument("--json", type=Path, help="write the report here")

    bench = commands.add_parser("bench", help="run a benchmark")
    which = bench.add_subparsers(dest="benchmark", required=True)
    engine = which.add_parser("engine", help="engine throughput beside raw rocksdict")
    engine.add_argument("--quick", action="store_true", help="small sizes, for the test suite")
    engine.add_argument("--json", type=Path, help="write the JSON report here")
    engine.add_argument("--plot", type=Path, help="write a PNG bar chart here")
    graph = which.add_parser("graph", help="load a power-law social graph through the relationships module")
    graph.add_argument("--profile", choices=["tiny", "small", "medium"], default="small")
    graph.add_argument("--json", type=Path, help="write the JSON report here")
    graph.add_argument("--accounts", type=int, help="resize the profile: this many accounts")
    graph.add_argument("--fanout", type=float, help="resize the profile: this average fanout")
    fanout = which.add_parser("fanout", help="post into a power-law social graph and measure fanout")
    fanout.add_argument("--profile", choices=["tiny", "small", "medium"], default="small")
    fanout.add_argument("--seconds", type=float, default=30.0, help="how long to post (default: 30)")
    fanout.add_argument("--json", type=Path, help="write the JSON report here")
    fanout.add_argument("--plot", type=Path, help="write a PNG of throughput and latency over time here")
    fanout.add_argument("--runtime", choices=["embedded", "kafka"], default="embedded", help="where the modules run")
    fanout.add_argument("--workers", default="1", help="kafka: worker processes, or a list like 1,2 (one run each)")
    fanout.add_argument("--broker", help="kafka: kafka://HOST:PORT (default: start a tansu of its own on loopback)")
    fanout.add_argument("--worker-modules", choices=["fanout", "mastodon"], default="fanout", help="kafka: modules")
    fanout.add_argument("--compare", action="store_true", help="kafka: also run the embedded benchmark, for ratios")
    fanout.add_argument("--data", type=Path, help="kafka: keep the workers' data and stderr here (default: a temp dir)")
    depots = which.add_parser("depots", help="the ledger example end to end on one depot storage")
    depots.add_argument("--depots", default="segment://", help="segment:// (default) or kafka://HOST:PORT[/NAMESPACE]")
    depots.add_argument("--records", type=int, default=100_000, help="transfers to append (default: 100,000)")
    depots.add_argument("--json", type=Path, help="write the JSON report here")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the `tusk` command line; an unreachable broker is one clear line on stderr and exit status 1."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except BrokerUnavailableError as exc:
        print(f"tusk: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command."""
    if args.command == "run":
        from api.rate_limit_rules import RateLimits
        from cluster.serve import serve

        limits = RateLimits(enabled=not args.no_rate_limits, exempt=tuple(args.rate_limit_exempt))
        return serve(args.data, args.host, args.port, limits)
    if args.command == "api":
        from api.rate_limit_rules import RateLimits
        from api.secret_key import SecretKeyError, configured_secret
        from cluster.serve import ApiServerOptions, serve_api

        limits = RateLimits(enabled=not args.no_rate_limits, exempt=tuple(args.rate_limit_exempt))
        try:
            secret = configured_secret(args.secret_key_file)
        except SecretKeyError as error:
            raise SystemExit(f"tusk api: {error}") from error
        options = ApiServerOptions(
            args.broker, args.host, args.port, args.base_url, args.tasks, args.media_store, limits, secret
        )
        return serve_api(options)
    if args.command == "api-operations":
        from api.operations import main as write_operations

        return write_operations(["--check"] if args.check else [])
    if args.command == "worker":
        from cluster.workers.cli import main as worker_main

        args.module = args.module or ["mastodon"]
        return worker_main(args)
    if args.command == "crashtest":
        from cluster.crashtest import run_crashtest

        report = run_crashtest(args.seconds, seed=args.seed)
        return _emit(report.to_json(), args.json, ok=report.ok)
    if args.command == "chaos-workers":
        from cluster.workers.chaos import main as chaos_main

        chaos_report, passed = chaos_main(args)
        return _emit(chaos_report, args.json, ok=passed)
    if args.command == "bench" and args.benchmark == "engine":
        from benchmarks.engine import run_engine_benchmark

        result = run_engine_benchmark(quick=args.quick, plot=args.plot)
        return _emit(result, args.json, ok=True)
    if args.command == "bench" and args.benchmark == "graph":
        from benchmarks.graph_load import run_graph_benchmark

        graph_report = run_graph_benchmark(args.profile, accounts=args.accounts, fanout=args.fanout)
        return _emit(graph_report, args.json, ok=graph_report["follower_count_mismatches"] == 0)
    if args.command == "bench" and args.benchmark == "fanout":
        from benchmarks.fanout import run_fanout_benchmark

        if args.runtime == "kafka":
            from benchmarks.fanout_workers import run_fanout_on_workers

            counts = [int(n) for n in args.workers.split(",")]
            fanout_report = run_fanout_on_workers(
                args.profile,
                args.seconds,
                counts,
                broker=args.broker,
                modules=args.worker_modules,
                compare=args.compare,
                plot=args.plot,
                keep=args.data,
            )
        else:
            fanout_report = run_fanout_benchmark(args.profile, args.seconds, plot=args.plot)
        return _emit(fanout_report, args.json, ok=fanout_report["deliveries"] == fanout_report["deliveries_owed"])
    if args.command == "bench" and args.benchmark == "depots":
        from benchmarks.depots import run_depots_benchmark

        return _emit(run_depots_benchmark(args.depots, args.records), args.json, ok=True)
    return 2


def cidr(text: str) -> str:
    """Return a network given as CIDR (`127.0.0.0/8`, `::1/128`), normalized; ValueError if it is not one."""
    return str(ipaddress.ip_network(text, strict=False))


def _emit(result: dict[str, object], path: Path | None, *, ok: bool) -> int:
    text = json.dumps(result, indent=2, sort_keys=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
