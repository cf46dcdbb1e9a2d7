"""The stream assembler closes calls as early as the stream allows, and never crashes."""

from __future__ import annotations

from typing import Any

from asyncfc_agent.agent.assembler import StreamAssembler


def delta(index: int | None = None, id: str | None = None, name: str | None = None,
          args: str | None = None) -> dict[str, Any]:
    return {"index": index, "id": id, "function": {"name": name, "arguments": args}}


def test_fragments_close_when_arguments_parse() -> None:
    a = StreamAssembler()
    assert a.feed([delta(0, "c1", "grep", '{"pattern"')]) == []
    assert a.feed([delta(0, None, None, ': "def pa')]) == []
    closed = a.feed([delta(0, None, None, 'rse"}')])
    assert [(c.id, c.name, c.args) for c in closed] == [("c1", "grep", {"pattern": "def parse"})]
    assert a.finish() == []


def test_a_higher_index_leaves_the_open_call_open_until_the_stream_ends() -> None:
    a = StreamAssembler()
    a.feed([delta(0, "c1", "run_tests", "")])
    assert a.feed([delta(1, "c2", "grep", '{"pattern": "x"')]) == []
    closed = a.finish()
    assert [c.name for c in closed] == ["run_tests", "grep"]
    assert closed[0].args == {} and closed[0].error is None
    assert closed[1].error is not None and "not valid JSON" in closed[1].error


def test_interleaved_parallel_calls_are_assembled_by_index() -> None:
    a = StreamAssembler()
    out = a.feed([delta(0, "c1", "read_file", ""), delta(1, "c2", "grep", "")])
    out += a.feed([delta(0, None, None, '{"path"'), delta(1, None, None, '{"pattern"')])
    out += a.feed([delta(0, None, None, ': "a.py"}')])
    assert [(c.id, c.args) for c in out] == [("c1", {"path": "a.py"})]
    out += a.feed([delta(1, None, None, ': "x"}')])
    assert a.finish() == []
    assert [(c.id, c.name, c.args) for c in out] == [
        ("c1", "read_file", {"path": "a.py"}), ("c2", "grep", {"pattern": "x"})]


def test_a_trailing_fragment_of_a_closed_call_is_no_new_call() -> None:
    a = StreamAssembler()
    out = a.feed([delta(0, "c1", "grep", '{"pattern": "a"}')])
    out += a.feed([delta(0, None, None, "")])  # vLLM and SGLang send this after the call
    out += a.feed([delta(None, None, None, "")])
    out += a.feed([delta(0, "c1", None, "")])
    out += a.finish()
    assert [(c.id, c.name) for c in out] == [("c1", "grep")]


def test_provider_fields_of_a_call_are_kept_for_the_conversation() -> None:
    a = StreamAssembler()
    d = delta(0, "c1", "grep", '{"pattern": "a"}')
    d["provider_specific_fields"] = {"thought_signature": "sig"}
    (call,) = a.feed([d])
    assert call.as_message_part()["provider_specific_fields"] == {"thought_signature": "sig"}


def test_index_zero_reused_with_new_ids() -> None:
    a = StreamAssembler()
    out = []
    out += a.feed([delta(0, "a", "read_file", '{"path": ')])
    out += a.feed([delta(0, None, None, '"x.py"}')])
    out += a.feed([delta(0, "b", "read_file", '{"path": "y.py"}')])
    out += a.finish()
    assert [(c.id, c.args["path"]) for c in out] == [("a", "x.py"), ("b", "y.py")]


def test_index_zero_reused_without_ids_but_new_name() -> None:
    a = StreamAssembler()
    out = a.feed([delta(0, None, "run", '{"command": "ls"')])
    out += a.feed([delta(0, None, "grep", '{"pattern": "a"}')])
    out += a.finish()
    assert [c.name for c in out] == ["run", "grep"]
    assert out[0].error is not None  # the first one never closed its brace
    assert out[1].args == {"pattern": "a"}


def test_name_repeated_in_every_chunk() -> None:
    a = StreamAssembler()
    a.feed([delta(0, "c1", "edit_file", '{"path": "a",')])
    closed = a.feed([delta(0, "c1", "edit_file", ' "old": "x", "new": "y"}')])
    assert closed[0].name == "edit_file"
    assert closed[0].args == {"path": "a", "old": "x", "new": "y"}


def test_name_split_over_fragments() -> None:
    a = StreamAssembler()
    a.feed([delta(0, "c1", "read_", "")])
    a.feed([delta(0, None, "file", '{"path"')])
    closed = a.feed([delta(0, None, None, ': "a"}')])
    assert closed[0].name == "read_file"


def test_whole_calls_in_one_chunk() -> None:
    a = StreamAssembler()
    closed = a.feed([delta(0, "x", "grep", '{"pattern": "a"}'), delta(1, "y", "grep", '{"pattern": "b"}')])
    assert [c.args["pattern"] for c in closed] == ["a", "b"]
    assert [c.position for c in closed] == [0, 1]


def test_objects_as_deltas_and_missing_ids() -> None:
    class Fn:
        def __init__(self, name: str | None, arguments: str) -> None:
            self.name, self.arguments = name, arguments

    class D:
        def __init__(self, index: int, fn: Fn) -> None:
            self.index, self.id, self.function = index, None, fn

    a = StreamAssembler(id_prefix="gen")
    closed = a.feed([D(0, Fn("list_files", "{}"))])
    assert closed[0].id == "gen_0" and closed[0].name == "list_files"


def test_bad_json_and_non_objects_are_errors_not_crashes() -> None:
    a = StreamAssembler()
    a.feed([delta(0, "c1", "grep", "[1, 2]")])
    a.feed([delta(1, "c2", "grep", "{'single': quotes}")])
    a.feed([delta(2, "c3", None, "{}")])
    a.finish()
    calls = {c.id: c for c in a.closed}
    assert "must be a JSON object" in (calls["c1"].error or "")
    assert "not valid JSON" in (calls["c2"].error or "")
    assert "no function name" in (calls["c3"].error or "")


def test_truncated_arguments_at_the_end_of_the_stream() -> None:
    a = StreamAssembler()
    a.feed([delta(0, "c1", "write_file", '{"path": "a.py", "content": "def f():\\n  ret')])
    (call,) = a.finish()
    assert call.error is not None and "write_file" in call.error
    # never sent back as it came: providers reject (or fail to convert) such arguments
    assert call.as_message_part()["function"]["arguments"] == "{}"


def test_whitespace_around_arguments() -> None:
    a = StreamAssembler()
    closed = a.feed([delta(0, "c1", "grep", '  {"pattern": "a"}  ')])
    assert closed[0].args == {"pattern": "a"}
