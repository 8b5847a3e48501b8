import contextlib
import csv
import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from torch.overrides import TorchFunctionMode

from stance import LABELS, StanceClassifier
from stance.corpus import Warnings
from stance.data import DataError
from stance.output import Sentence, Sentences, open_output
from stance.predict import main, merge_parts
from stance.reader import ReaderProcess, ReadJob, read_corpus
from stance.segment import split_sentences
from stance.tokens import Tokens, batches, pack

DOCUMENT = (
    'WASHINGTON (Reuters) - The U.S. blamed Damascus. Mr. Smith, a U.N. official, said: "We insist '
    'on an inquiry. Nobody can be blamed before it." \n\n  Caf\u00e9 owners in S\u00e3o Paulo '
    "said it was \u201cnonsense\u201d.\n\nThe talks resume on Jan. 5 at 10 a.m."
)


def test_offsets_slice_back_to_each_sentence() -> None:
    sentences = split_sentences(DOCUMENT)
    assert [s.text for s in sentences][:2] == [
        "WASHINGTON (Reuters) - The U.S. blamed Damascus.",
        'Mr. Smith, a U.N. official, said: "We insist on an inquiry.',
    ]
    assert len(sentences) == 5
    for s in sentences:
        assert DOCUMENT[s.start : s.end] == s.text


def test_an_agency_dateline_stays_with_the_first_sentence() -> None:
    document = "BISHKEK, April 14. /TASS/. Russia opposes the claims. FURY AS TEEN DIES. He was 16."
    sentences = split_sentences(document)
    assert [s.text for s in sentences] == [
        "BISHKEK, April 14. /TASS/. Russia opposes the claims.",
        "FURY AS TEEN DIES.",
        "He was 16.",
    ]
    assert all(document[s.start : s.end] == s.text for s in sentences)


def test_library_api(trained_model: Path) -> None:
    clf = StanceClassifier.load(trained_model, device="cpu")
    texts = ["the army denied the claims", "the meeting was held on monday", "x " * 200]
    predictions = clf.predict(iter(texts), batch_size=2)
    assert len(predictions) == 3
    for p in predictions:
        assert p.label in LABELS and sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert clf.truncated == 1
    [doc] = clf.predict_documents([DOCUMENT])
    assert [DOCUMENT[s["start"] : s["end"]] for s in doc] == [s["text"] for s in doc]


def test_results_keep_input_order(trained_model: Path) -> None:
    clf = StanceClassifier.load(trained_model, device="cpu")
    texts = [("the army denied the claims " * (i % 7 + 1)).strip() for i in range(50)]
    in_order = clf.predict_proba(texts, batch_size=4)
    one_by_one = np.concatenate([clf.predict_proba([t]) for t in texts])
    assert np.allclose(in_order, one_by_one, atol=1e-5)
    streamed = np.concatenate(list(clf.stream(iter(texts), batch_size=3, chunk_size=7)))
    assert np.allclose(streamed, in_order, atol=1e-5)


def test_fast_tokenization_matches_the_tokenizer(trained_model: Path) -> None:
    clf = StanceClassifier.load(trained_model, device="cpu", max_length=12)
    texts = ["The U.S. blamed Damascus.", "Caf\u00e9 owners said \u201cnonsense\u201d.", "x " * 40, ""]
    expected = clf.tokenizer(texts, truncation=True, max_length=12)["input_ids"]
    assert clf.encode(texts) == expected
    assert clf.truncated == 1
    assert clf.tokenizer(texts[2])["input_ids"][-1] == expected[2][-1]  # the cut keeps [SEP]


def test_packed_batches_hold_each_row_then_padding(trained_model: Path) -> None:
    clf = StanceClassifier.load(trained_model, device="cpu")
    ids = clf.encode([("the army denied the claims " * (i % 5 + 1)).strip() for i in range(23)])
    lengths = np.array([len(row) for row in ids])
    plan = list(batches(np.argsort(lengths, kind="stable"), np.sort(lengths), 4))
    pad_id = clf.tokenizer.pad_token_id
    packed = pack(Tokens.from_lists(ids), plan, pad_id)
    assert len(packed.batches) == len(plan) > 1 and len(packed.ids) == sum(
        c * w for _, c, w in packed.batches
    )
    for rows, (start, count, width) in zip(plan, packed.batches):
        assert count == len(rows) and width == max(lengths[rows])
        block = packed.ids[start : start + count * width].reshape(count, width)
        mask = packed.mask[start : start + count * width].reshape(count, width)
        for i, block_row, mask_row in zip(rows, block, mask):
            assert block_row.tolist() == ids[i] + [pad_id] * (width - len(ids[i]))
            assert mask_row.tolist() == [True] * len(ids[i]) + [False] * (width - len(ids[i]))


def test_the_reader_process_imports_no_torch() -> None:
    code = "import sys, stance.predict, stance.reader; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr


def test_the_reader_process_starts_before_torch_is_imported(trained_model: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "in.txt"
    corpus.write_text("The army denied it.\n")
    code = """
import sys
from stance import predict, reader
start = reader.ReaderProcess.__init__
def recording_start(self, *args):
    print("torch imported:", "torch" in sys.modules)
    start(self, *args)
reader.ReaderProcess.__init__ = recording_start
sys.exit(predict.main(sys.argv[1:]))
"""
    argv = ["--model", str(trained_model), "--sentences", "--out", str(tmp_path / "out.jsonl"), str(corpus)]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["torch imported: False"]


def test_reader_process_thread_and_worker_processes_give_the_same_chunks(
    trained_model: Path, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text(DOCUMENT, encoding="utf-8")
    (tmp_path / "b.txt").write_text("The army denied it. " + "Long words here " * 10 + ".")
    (tmp_path / "c.txt").write_text("")
    (tmp_path / "d.txt").write_text("Short one. Short two.")
    clf = StanceClassifier.load(trained_model, device="cpu", max_length=12)
    results = []
    for in_process, workers in [(True, 1), (False, 1), (True, 2), (False, 3)]:
        job = ReadJob([str(tmp_path)], "text", None, False, chunk_size=2, start=(0, 2), workers=workers)
        warnings = Warnings()
        chunks = list(read_corpus(job, clf.encoder, warnings, in_process))
        sentences = [vars(chunk.sentences) for chunk in chunks]
        tokens = [(chunk.tokens.flat.tolist(), chunk.tokens.lengths.tolist()) for chunk in chunks]
        results.append((sentences, tokens, dict(warnings)))
    assert results[0] == results[1] == results[2] == results[3]
    sentences, tokens, warnings = results[0]
    texts = [text for chunk in sentences for text in chunk["texts"]]
    # Two documents a chunk: a.txt from its third sentence and b.txt, then d.txt (c.txt is empty).
    assert [chunk["numbers"] for chunk in sentences] == [[2, 3, 4, 0, 1], [0, 1]]
    expected = Tokens.from_lists(clf.encode(texts))
    assert np.concatenate([np.array(flat) for flat, _ in tokens]).tolist() == expected.flat.tolist()
    assert warnings == {"empty files": 1, "sentences longer than 12 tokens truncated": clf.truncated}
    # Going on from a chunk's end (as --resume does) gives the chunks that came after it.
    (tmp_path / "e.txt").write_text("One more. And two.")
    (tmp_path / "f.txt").write_text("The last one.")
    whole = list(
        read_corpus(ReadJob([str(tmp_path)], "text", None, False, chunk_size=2), clf.encoder, Warnings())
    )
    after_first = (whole[0].sentences.ordinals[-1], whole[0].sentences.numbers[-1] + 1)
    job = ReadJob([str(tmp_path)], "text", None, False, chunk_size=2, start=after_first)
    resumed = list(read_corpus(job, clf.encoder, Warnings()))
    assert [vars(chunk.sentences) for chunk in resumed] == [vars(chunk.sentences) for chunk in whole[1:]]
    assert len(resumed) == 2


def _reader_pids() -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == os.getpid() and b"stance.reader" in (stat.parent / "cmdline").read_bytes():
                pids.append(int(stat.parent.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the reader process in /proc")
def test_a_reader_process_that_fails_or_dies_is_reported(trained_model: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the army denied it\n" * 5000)
    job = ReadJob([str(corpus)], "text", None, presplit=True, chunk_size=100)
    clf = StanceClassifier.load(trained_model, device="cpu")
    chunks = read_corpus(job, clf.encoder, Warnings())
    assert len(next(chunks).sentences) == 100
    [reader] = _reader_pids()
    os.kill(reader, signal.SIGKILL)
    with pytest.raises(RuntimeError, match="reader process stopped unexpectedly"):
        list(chunks)
    failing = functools.partial(os._exit, 3)  # called with the texts: a TypeError in the reader process
    with pytest.raises(RuntimeError, match=r"(?s)reader process failed.*TypeError"):
        next(read_corpus(job, failing, Warnings()))
    assert _reader_pids() == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker processes in /proc")
def test_worker_processes_that_die_or_meet_bad_input_are_reported(
    trained_model: Path, tmp_path: Path
) -> None:
    clf = StanceClassifier.load(trained_model, device="cpu")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the army denied it\n" * 5000)
    job = ReadJob([str(corpus)], "text", None, presplit=True, chunk_size=100, workers=2)
    chunks = read_corpus(job, clf.encoder, Warnings())
    assert len(next(chunks).sentences) == 100
    workers = [pid for pid in _reader_pids() if Path(f"/proc/{pid}/cmdline").read_bytes().endswith(b"work\0")]
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    with pytest.raises(RuntimeError, match="a worker process stopped unexpectedly"):
        list(chunks)
    assert _reader_pids() == []
    records = tmp_path / "corpus.jsonl"
    lines = [json.dumps({"text": f"The army denied report number {i}."}) for i in range(300)]
    records.write_text("\n".join([*lines, "{not json", *lines]) + "\n")
    job = ReadJob([str(records)], "text", None, presplit=True, chunk_size=50, workers=2)
    chunks = read_corpus(job, clf.encoder, Warnings())
    # The chunks before the bad line come first, in order, then its error.
    for first in range(0, 300, 50):
        assert next(chunks).sentences.texts[0] == f"The army denied report number {first}."
    with pytest.raises(DataError, match=r"corpus\.jsonl:301: bad JSON"):
        next(chunks)
    assert _reader_pids() == []


def test_the_reader_started_before_the_model_is_used_unless_the_guess_was_wrong(
    trained_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "in.txt"
    corpus.write_text("The army denied it.\nThe union called for an inquiry into the raid.\n" * 50)
    started: list[ReaderProcess] = []
    start = ReaderProcess.__init__

    def recording_start(self: ReaderProcess, *args: object) -> None:
        start(self, *args)  # type: ignore[arg-type]
        started.append(self)

    monkeypatch.setattr(ReaderProcess, "__init__", recording_start)
    argv = ["--model", str(trained_model), "--sentences", "--device", "cpu", str(corpus), "--out"]
    assert main([*argv, str(tmp_path / "early.jsonl")]) == 0
    assert len(started) == 1  # started before the model loaded, and then used
    monkeypatch.setattr("stance.predict.cuda_expected", lambda device: True)  # GPU chunk sizes
    assert main([*argv, str(tmp_path / "restarted.jsonl")]) == 0
    assert len(started) == 3 and started[1].process.returncode == -signal.SIGKILL
    early = (tmp_path / "early.jsonl").read_text()
    assert early == (tmp_path / "restarted.jsonl").read_text() and len(early.splitlines()) == 100


class _DeviceReads(TorchFunctionMode):
    """Records the tensor operations that hand a value back to Python or size their output by the
    data (on a GPU, both wait for the device)."""

    READS = ("__bool__", "__int__", "__float__", "__index__", "item", "tolist", "numpy", "cpu")
    READS += ("nonzero", "masked_select", "unique", "repeat_interleave")

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if getattr(func, "__name__", "") in self.READS:
            self.seen.append(func.__name__)
        return func(*args, **(kwargs or {}))


def test_queued_batches_never_wait_for_the_device(trained_model: Path) -> None:
    clf = StanceClassifier.load(trained_model, device="cpu")
    texts = [("the army denied the claims " * (i % 7 + 1)).strip() for i in range(40)]
    expected = clf.logits(texts, batch_size=4)  # the first call also decides the mask form
    if not clf._4d_mask:
        pytest.skip("this transformers version does not take a ready 4D mask")
    with _DeviceReads() as reads:
        launched = clf._launch(clf.tokens(texts), batch_size=4)
    assert reads.seen == []
    assert np.array_equal(launched.collect(), expected)


def test_a_model_that_misreads_a_4d_mask_is_given_the_2d_one(trained_model: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    sdpa = StanceClassifier.load(trained_model, device="cpu")
    eager_model = AutoModelForSequenceClassification.from_pretrained(
        trained_model, attn_implementation="eager"
    )
    eager = StanceClassifier(eager_model.eval(), sdpa.tokenizer)  # eager attention adds the mask to scores
    texts = [("the army denied the claims " * (i % 7 + 1)).strip() for i in range(20)]
    assert np.allclose(eager.logits(texts, batch_size=4), sdpa.logits(texts, batch_size=4), atol=1e-5)
    assert eager._4d_mask is False


def test_merged_part_files_equal_one_output(tmp_path: Path) -> None:
    sentences = [Sentence(i // 2, f"d{i // 2}", i % 2, 0, 5, f's\t"{i}\u201d') for i in range(6)]
    probs = np.random.default_rng(0).dirichlet(np.ones(len(LABELS)), len(sentences)).astype(np.float32)
    for fmt in ("jsonl", "csv"):
        with open_output(tmp_path / f"one.{fmt}", fmt, append=False) as writer:
            writer.write(Sentences.from_rows(sentences), probs)
        parts = [tmp_path / f"out.{fmt}.part{k}" for k in range(2)]
        for k, part in enumerate(parts):  # process k had documents k, k + 2, ...
            mine = [i for i, s in enumerate(sentences) if s.ordinal % 2 == k]
            with open_output(part, "parts", append=False) as writer:
                writer.write(Sentences.from_rows([sentences[i] for i in mine]), probs[mine])
        merge_parts(parts, tmp_path / f"out.{fmt}", fmt)
        assert (tmp_path / f"out.{fmt}").read_text() == (tmp_path / f"one.{fmt}").read_text()
        assert not any(part.exists() for part in parts)
    rows = [json.loads(line) for line in (tmp_path / "one.jsonl").read_text().splitlines()]
    assert [r["text"] for r in rows] == [s.text for s in sentences]
    assert [r["probabilities"]["denial"] for r in rows] == pytest.approx(probs[:, 1].tolist(), abs=1e-6)


def test_jsonl_and_csv_outputs_agree(trained_model: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus" / "sub"
    corpus.mkdir(parents=True)
    (corpus / "a.txt").write_text(DOCUMENT, encoding="utf-8")
    (tmp_path / "corpus" / "b.txt").write_text("The army denied it. The union called for an inquiry.")
    assert (
        main(["--model", str(trained_model), "--out", str(tmp_path / "o.jsonl"), str(tmp_path / "corpus")])
        == 0
    )
    assert (
        main(["--model", str(trained_model), "--out", str(tmp_path / "o.csv"), str(tmp_path / "corpus")]) == 0
    )
    rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    with open(tmp_path / "o.csv", encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(rows) == len(table) == 7
    assert [r["id"] for r in rows] == [str(tmp_path / "corpus" / "b.txt")] * 2 + [str(corpus / "a.txt")] * 5
    for row, record in zip(rows, table, strict=True):
        assert record["text"] == row["text"] and record["label"] == row["label"]
        assert float(record["p_denial"]) == pytest.approx(row["probabilities"]["denial"])
        source = Path(row["id"]).read_text(encoding="utf-8")
        assert source[row["start"] : row["end"]] == row["text"]


def test_jsonl_records_with_ids_and_presplit_sentences(trained_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text(
        '{"doc": "d1", "body": "One. Two."}\n{"doc": "d2", "body": ""}\n\n{"doc": "d3", "body": "Three."}\n'
    )
    out = tmp_path / "o.jsonl"
    assert (
        main(
            [
                "--model",
                str(trained_model),
                "--out",
                str(out),
                "--text-field",
                "body",
                "--id-field",
                "doc",
                "--sentences",
                str(data),
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["text"]) for r in rows] == [("d1", "One. Two."), ("d3", "Three.")]


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stance.predict", *args], input=stdin, capture_output=True, timeout=300
    )


def test_stdin_to_stdout(trained_model: Path) -> None:
    done = run_cli("--model", str(trained_model), "--out", "-", "-", stdin=DOCUMENT.encode())
    assert done.returncode == 0, done.stderr.decode()
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["text"] for r in rows] == [s.text for s in split_sentences(DOCUMENT)]


def test_a_script_without_a_main_guard_can_call_main(trained_model: Path, tmp_path: Path) -> None:
    # The reader process must not re-run the caller's script (as multiprocessing's spawn would).
    (tmp_path / "in.txt").write_text("The army denied it.\nThe union called for an inquiry.\n")
    script = tmp_path / "label.py"
    argv = ["--model", str(trained_model), "--sentences", "--out", str(tmp_path / "o.jsonl")]
    argv.append(str(tmp_path / "in.txt"))
    script.write_text(f"import sys\nfrom stance.predict import main\nsys.exit(main({argv!r}))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 2


def test_processes_launched_by_torchrun_share_the_corpus_and_merge_in_order(
    trained_model: Path, tmp_path: Path
) -> None:
    for k in range(5):
        (tmp_path / f"doc{k}.txt").write_text(f"The army denied report {k}. The union called for an inquiry.")
    args = ["-m", "stance.predict", "--model", str(trained_model), "--device", "cpu", str(tmp_path), "--out"]
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", *args]
    done = subprocess.run([*launch, str(tmp_path / "two.jsonl")], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().count("labelled") == 2  # one each: 6 and 4 sentences
    assert run_cli(*args[2:], str(tmp_path / "one.jsonl")).returncode == 0
    one, two = (
        [json.loads(line) for line in (tmp_path / name).open()] for name in ("one.jsonl", "two.jsonl")
    )
    assert [(r["id"], r["sentence"], r["label"]) for r in two] == [
        (r["id"], r["sentence"], r["label"]) for r in one
    ]
    assert len(two) == 10 and not list(tmp_path.glob("two.jsonl.part*"))


def test_bad_input_is_counted_or_reported(trained_model: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 owners denied it.".encode("latin-1"))
    (tmp_path / "huge.txt").write_text("word " * 300_000 + ".")
    lines = tmp_path / "lines.txt"
    lines.write_text("first sentence\n\nsecond sentence\n")
    done = run_cli(
        "--model",
        str(trained_model),
        "--out",
        str(tmp_path / "o.jsonl"),
        str(tmp_path / "empty.txt"),
        str(tmp_path / "latin1.txt"),
        str(tmp_path / "huge.txt"),
    )
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "1 empty files" in err and "1 texts with undecodable bytes" in err and "truncated" in err
    assert "Traceback" not in err
    done = run_cli(
        "--model", str(trained_model), "--out", str(tmp_path / "l.jsonl"), "--sentences", str(lines)
    )
    assert "1 empty lines skipped" in done.stderr.decode()
    bad_csv = tmp_path / "in.csv"
    bad_csv.write_text("body\nhello\n")
    done = run_cli("--model", str(trained_model), "--out", str(tmp_path / "c.jsonl"), str(bad_csv))
    assert done.returncode == 2 and "no column 'text'" in done.stderr.decode()
    done = run_cli(
        "--model", str(trained_model), "--out", str(tmp_path / "o.jsonl"), str(tmp_path / "empty.txt")
    )
    assert done.returncode == 2 and "--resume" in done.stderr.decode()
    done = run_cli("--model", str(tmp_path), "--out", str(tmp_path / "m.jsonl"), str(lines))
    assert done.returncode == 2 and "not a saved model directory" in done.stderr.decode()
    assert not list(tmp_path.glob("m.jsonl*"))  # no output, no progress record
    done = run_cli(
        "--model", str(trained_model), "--out", str(tmp_path / "x.jsonl"), str(tmp_path / "missing")
    )
    assert (
        done.returncode == 2
        and "no such file" in done.stderr.decode()
        and "Traceback" not in done.stderr.decode()
    )


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["killed", "ctrl-c"])
def test_stopped_run_resumes_to_the_same_output(trained_model: Path, tmp_path: Path, stop: int) -> None:
    words = ["the army denied the claims", "the union called for an inquiry", "the meeting was held"]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"{words[i % 3]} number {i}\n" for i in range(20000)))
    args = [
        "--model",
        str(trained_model),
        "--sentences",
        "--chunk-size",
        "200",
        "--batch-size",
        "32",
        str(corpus),
    ]
    assert run_cli(*args, "--out", str(tmp_path / "whole.jsonl")).returncode == 0
    out = tmp_path / "killed.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "stance.predict", *args, "--out", str(out)],
        stderr=subprocess.PIPE,
        start_new_session=True,
        # A background job of a non-interactive shell starts with SIGINT ignored, and Python keeps that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    progress = Path(f"{out}.progress.json")
    deadline = time.time() + 120
    while time.time() < deadline:
        if progress.is_file() and json.loads(progress.read_text())["sentences_done"] >= 1000:
            break
        time.sleep(0.05)
    os.killpg(process.pid, stop)
    _, stderr = process.communicate()
    if stop == signal.SIGINT:  # a message that says how to go on, not a traceback
        assert process.returncode == 130 and b"Traceback" not in stderr
        assert b"--resume" in stderr.splitlines()[-1]
    state = json.loads(progress.read_text())
    assert 0 < state["sentences_done"] < 6000 and not state["complete"]
    done = run_cli(*args, "--out", str(out), "--resume")
    assert done.returncode == 0, done.stderr.decode()
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert run_cli(*args, "--out", str(out), "--resume").stderr.decode().strip().endswith("already complete")
