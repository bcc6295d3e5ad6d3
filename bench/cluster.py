"""Episodes per hour with 1 and with 2 workers on the same feed, side by side (issue 29).

One PostgreSQL-backed Prefect server (presenter/cluster.py); for each worker
count, a fresh output folder, that many ``prefect worker start --limit 1``
processes, and one ``presenter watch`` over a feed of EPISODES spoken
episodes served on 127.0.0.1 (11 s of speech each, fast engines). The time is
the watch run's wall clock, from its start to the last digest recorded.

All workers run on this one machine: on 2 cores, two workers share the same
2 cores, so a ratio near 1 is expected here. The design adds machines, not
cores: on two machines each worker has its own.

    .venv/bin/python bench/cluster.py [EPISODES]
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flows import prefect_env  # noqa: E402

prefect_env.apply()

from presenter.cluster import BIN, DEPLOYMENT, FAST_ENV, Cluster, QuietHandler, _rss  # noqa: E402


def main() -> None:
    episodes = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        site = root / "site"
        site.mkdir()
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(ROOT / "assets/sample/jfk-inaugural.flac"), "-c:a", "libmp3lame", str(site / "ep.mp3")], check=True)
        web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
        base = f"http://127.0.0.1:{web.server_address[1]}"
        threading.Thread(target=web.serve_forever, daemon=True).start()
        rows = []
        with Cluster(root / "cluster") as cluster:
            for workers in (1, 2):
                feed = f"feed-{workers}.xml"
                (site / feed).write_text(_rss(f"Bench {workers}", [(f"Episode {n}", f"w{workers}-{n}", f"{base}/ep.mp3") for n in range(episodes)]))
                names = [f"w{workers}-worker-{n}" for n in range(workers)]
                for name in names:
                    cluster.worker(name)
                env = {**cluster.env, **FAST_ENV, "PRESENTER_OUTPUT_DIR": str(root / f"shared-{workers}"), "PRESENTER_WATCH__DEPLOYMENT": DEPLOYMENT,
                       "PRESENTER_WATCH__CATALOG_URL": cluster.postgres.database(f"bench_{workers}"), "PRESENTER_FETCH__ALLOW": '["127.0.0.1"]',
                       "PRESENTER_WATCH__NEWEST": str(episodes)}
                started = time.perf_counter()
                watch = cluster.start_process(f"watch-{workers}", [str(BIN / "presenter"), "watch", f"{base}/{feed}"], env=env)
                code = watch.wait()
                seconds = time.perf_counter() - started
                done = len(list((root / f"shared-{workers}").glob("*/presenter.mp4")))
                if code != 0 or done != episodes:
                    shutil.copyfile(cluster.log(f"watch-{workers}"), ROOT / "bench" / f"cluster-watch-{workers}.log")
                    sys.exit(f"{workers} worker(s): watch exit code {code}, {done} of {episodes} videos (log in bench/)")
                rows.append((workers, episodes, seconds, episodes / seconds * 3600))
                for name in names:
                    cluster.stop_process(name)
        web.shutdown()
    print("| workers | episodes | wall s | episodes per hour | ratio to 1 worker |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for workers, count, seconds, rate in rows:
        print(f"| {workers} | {count} | {seconds:.1f} | {rate:.0f} | {rate / rows[0][3]:.2f} |")


if __name__ == "__main__":
    main()
