#!/usr/bin/env python3
"""Kill test: SIGKILL `midigpt train` and `midigpt prepare` at random moments and check that
nothing is lost.

    scripts/kill_test.py [BINARY] [--kills 12] [--prepare-kills 8] [--seed 1] [--keep]

Training: a tiny model is trained once without interruption, then again while being killed
`--kills` times (half at random moments, half the moment a checkpoint's temporary folder
appears, i.e. during a checkpoint write) and resumed with `--resume` after each kill.
After every kill:
  - the newest complete checkpoint is at most `checkpoint_interval` steps behind the last
    logged step (no step is lost beyond the last checkpoint), and `midigpt eval` loads it;
  - metrics.jsonl logs each step once, with no gap;
and at the end the per-step train and validation losses, and the final weights, equal
those of the uninterrupted run.

Prepare: a dataset folder is re-prepared with other options and killed `--prepare-kills`
times; after each kill the folder must hold the old dataset or the new one, whole
(meta.json, train.bin, val.bin and tokenizer.json byte-identical to a reference run), as
`midigpt eval` (which reads it) finds it.

Standard library only. Exits non-zero at the first failed check.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "crates/tokenize/tests/data/midi"
INTERVAL = 5
SETTINGS = {
    "n_layer": 1, "n_embd": 32, "n_head": 2, "block_size": 64, "batch_size": 4,
    "max_iters": 60, "warmup_iters": 5, "lr_decay_iters": 60, "checkpoint_interval": INTERVAL,
    "eval_interval": 10, "eval_iters": 4, "log_interval": 1, "keep_last": 2,
    "sample_interval": 0, "learning_rate": 0.003,
}


def fail(message: str) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check_exit(proc: subprocess.Popen, name: str, killed: bool) -> None:
    """A process that was killed may stop anywhere, but never panics; one that ran to its
    end must have succeeded."""
    stderr = proc.stderr.read().decode()
    if "panicked at" in stderr:
        fail(f"{name} panicked:\n{stderr}")
    if not killed and proc.returncode != 0:
        fail(f"{name} failed:\n{stderr}")


def run(binary: str, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([binary, *args], capture_output=True, text=True)
    if "panicked at" in done.stderr:
        fail(f"midigpt {' '.join(args)} panicked:\n{done.stderr}")
    return done


def must(binary: str, *args: str) -> str:
    done = run(binary, *args)
    if done.returncode != 0:
        fail(f"midigpt {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def train_args(data: Path, out: Path, resume: bool) -> list:
    args = ["train", "--data", str(data), "--out", str(out)]
    if resume:
        return args + ["--resume"]
    for key, value in SETTINGS.items():
        args += ["--set", f"{key}={value}"]
    return args


def metrics(run_dir: Path) -> list:
    """(step, split, loss) of every complete line of metrics.jsonl."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # a line torn by the kill
        record = json.loads(line)
        out.append((record["step"], record["split"], record["loss"]))
    return out


def checkpoints(run_dir: Path) -> list:
    """Steps of the complete checkpoint folders."""
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(
        int(p.name[len("step-"):]) for p in folder.iterdir()
        if p.name.startswith("step-") and (p / "checkpoint.json").is_file()
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_metrics(lines: list, context: str) -> int:
    """Each train step once, from 0 with no gap; returns the last one (-1 if none)."""
    train = [step for step, split, _ in lines if split == "train"]
    if train != list(range(len(train))):
        fail(f"{context}: train steps in metrics.jsonl are not 0, 1, 2, ...: {train}")
    val = [step for step, split, _ in lines if split == "val"]
    if len(val) != len(set(val)):
        fail(f"{context}: a validation step is logged twice: {val}")
    return len(train) - 1


def kill_when(proc: subprocess.Popen, ready, deadline: float) -> bool:
    """SIGKILLs `proc` as soon as `ready()` holds (polled every 0.2 ms) or at `deadline`;
    returns False if the process ended first."""
    while proc.poll() is None:
        if ready() or time.monotonic() >= deadline:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.0002)
    return False


def train_kills(binary: str, work: Path, kills: int, rng: random.Random) -> None:
    data = work / "data"
    must(binary, "prepare", str(FIXTURES), "--out", str(data), "--val-fraction", "0.2")
    clean = work / "clean"
    started = time.monotonic()
    must(binary, *train_args(data, clean, resume=False))
    duration = time.monotonic() - started
    print(f"uninterrupted run: {duration:.1f} s")
    final = f"checkpoints/step-{SETTINGS['max_iters']:06d}/model.safetensors"

    cut = work / "cut"
    survived = during_checkpoint = 0
    attempt = 0
    while survived < kills:
        attempt += 1
        resume = (cut / "config.json").exists()
        proc = subprocess.Popen([binary, *train_args(data, cut, resume)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        at_checkpoint = survived % 2 == 1
        folder = cut / "checkpoints"
        if at_checkpoint:
            # The moment a checkpoint is being written; skip the first few to spread the kills.
            skip = rng.randrange(3)
            seen = set()

            def writing() -> bool:
                if not folder.is_dir():
                    return False
                tmp = {p for p in os.listdir(folder) if p.startswith(".tmp-")}
                seen.update(tmp)
                return bool(tmp) and len(seen) > skip
            killed = kill_when(proc, writing, time.monotonic() + 2 * duration)
        else:
            killed = kill_when(proc, lambda: False, time.monotonic() + rng.uniform(0.1, duration))
        check_exit(proc, "train", killed)
        if not killed:
            # The run finished before the kill: start over from scratch for more kills.
            shutil.rmtree(cut)
            continue
        survived += 1
        during_checkpoint += at_checkpoint
        steps = checkpoints(cut)
        last = check_metrics(metrics(cut), f"kill {survived}")
        newest = steps[-1] if steps else 0
        if last - newest > INTERVAL:
            fail(f"kill {survived}: steps up to {last} logged, newest checkpoint {newest}")
        loads = "no checkpoint yet"
        if steps:
            done = run(binary, "eval", "--model", str(cut), "--data", str(data))
            if done.returncode != 0:
                fail(f"kill {survived}: the checkpoints do not load:\n{done.stderr}")
            loads = "it loads"
        left = [p for p in os.listdir(folder) if p.startswith(".")] if folder.is_dir() else []
        during = f" (during the write of {left[0][len('.tmp-'):]})" if left else ""
        print(f"kill {survived}{during}: logged to step {last}, newest checkpoint {newest}, {loads}")
    must(binary, *train_args(data, cut, resume=True))
    check_metrics(metrics(cut), "final")
    if metrics(cut) != metrics(clean):
        fail("the resumed run's losses differ from the uninterrupted run's")
    if sha(cut / final) != sha(clean / final):
        fail("the resumed run's final weights differ from the uninterrupted run's")
    print(f"train: {survived} kills survived ({during_checkpoint} during checkpoint writes, "
          f"{attempt} attempts); losses and final weights equal the uninterrupted run's")


def dataset(folder: Path) -> dict:
    """Hashes of the files a dataset is made of (None for a missing one)."""
    names = ["meta.json", "train.bin", "val.bin", "tokenizer.json"]
    return {n: sha(folder / n) if (folder / n).is_file() else None for n in names}


def prepare_kills(binary: str, work: Path, kills: int, rng: random.Random) -> None:
    options = {"a": ["--val-fraction", "0.2"], "b": ["--val-fraction", "0.2", "--transpose", "-1..1"]}
    reference = {}
    durations = []
    for name, opts in options.items():
        started = time.monotonic()
        must(binary, "prepare", str(FIXTURES), "--out", str(work / f"ref-{name}"), *opts)
        durations.append(time.monotonic() - started)
        reference[name] = dataset(work / f"ref-{name}")
    duration = max(durations)
    target = work / "target"
    shutil.copytree(work / "ref-a", target)
    state = "a"
    survived = attempts = 0
    while survived < kills:
        attempts += 1
        other = "b" if state == "a" else "a"
        proc = subprocess.Popen([binary, "prepare", str(FIXTURES), "--out", str(target),
                                 *options[other]],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if survived % 2:
            # As soon as this run writes its shards (a killed run may have left an old one,
            # which this run truncates).
            def mtime():
                try:
                    return (target / "train.bin.tmp").stat().st_mtime_ns
                except FileNotFoundError:
                    return None
            before = mtime()

            def writing() -> bool:
                now = mtime()
                return now is not None and now != before
            killed = kill_when(proc, writing, time.monotonic() + 2 * duration)
        else:
            # Up to 1.5 times its length: some runs finish, and the next kill cuts the way back.
            killed = kill_when(proc, lambda: False, time.monotonic() + rng.uniform(0, 1.5 * duration))
        check_exit(proc, "prepare", killed)
        if not killed:
            if dataset(target) != reference[other]:
                fail("a finished prepare did not leave its dataset")
            state = other
            continue
        survived += 1
        # Read through midigpt, which finishes a commit the kill may have cut short.
        must(binary, "eval", "--model", str(work / "clean"), "--data", str(target))
        found = dataset(target)
        if found == reference[state]:
            outcome = "old"
        elif found == reference[other]:
            outcome, state = "new", other
        else:
            fail(f"prepare kill {survived}: the folder holds neither dataset whole: {found}")
        meta = json.loads((target / "meta.json").read_text())
        width = 2 if meta["dtype"] == "u16" else 4
        for shard, count in [("train.bin", "tokens_train"), ("val.bin", "tokens_val")]:
            if (target / shard).stat().st_size != width * meta["counts"][count]:
                fail(f"prepare kill {survived}: {shard} does not match meta.json")
        print(f"prepare kill {survived}: the {outcome} dataset, whole")
    print(f"prepare: {survived} kills survived ({attempts} attempts, "
          f"{attempts - survived} left to finish)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default=str(ROOT / "target/release/midigpt"))
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--prepare-kills", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    if not Path(args.binary).is_file():
        fail(f"no binary at {args.binary} (cargo build --release)")
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="midigpt-kill-"))
    try:
        train_kills(args.binary, work, args.kills, rng)
        prepare_kills(args.binary, work, args.prepare_kills, rng)
    finally:
        if args.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
