"""Settings: strict .env parsing, required variables, precedence, typed reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from stackbuilders import one, write

from pojemnik.declaration.origins import Origin
from pojemnik.declaration.settings import Settings, UndeclaredSetting, parse_env_file


def load(root: Path, example: str | None = None, env: str | None = None,
         environ: dict[str, str] | None = None) -> Settings:
    if example is not None:
        write(root / ".env.example", example)
    if env is not None:
        write(root / ".env", env)
    return Settings.load(root, environ={} if environ is None else environ)


def test_valid_files_have_no_problems(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        example="# comment\n\nPROJECT=demo\nQUOTED=\"a b\"\nexport EXPORTED=yes\n",
        env="  \nPROJECT=prod  # trailing comment\n",
    )
    assert settings.problems == []
    assert settings["PROJECT"] == "prod"
    assert settings["QUOTED"] == "a b"
    assert settings["EXPORTED"] == "yes"


def test_missing_files_are_no_settings_and_no_problems(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings.problems == []
    assert settings.values == {}


def test_malformed_line_is_an_error_naming_its_line(tmp_path: Path) -> None:
    settings = load(tmp_path, env="A=1\n# fine\nthis is not a setting\nB=2\n")
    problem = one(settings.problems)
    assert problem.where == ".env:3"
    assert "cannot parse" in problem.message
    assert "this is not a setting" in problem.message
    assert "NAME=value" in problem.fix
    # The lines around it still count.
    assert settings["A"] == "1"
    assert settings["B"] == "2"


def test_bare_name_without_equals_is_an_error(tmp_path: Path) -> None:
    settings = load(tmp_path, env="A=1\nHTTP_PORT\n")
    problem = one(settings.problems)
    assert problem.where == ".env:2"
    assert "HTTP_PORT" in problem.message
    assert "NAME=value" in problem.fix
    assert "HTTP_PORT" not in settings.values


def test_malformed_line_in_example_names_the_example(tmp_path: Path) -> None:
    settings = load(tmp_path, example="A=1\n\n\nnot valid\n")
    assert one(settings.problems).where == ".env.example:4"


def test_line_numbers_count_blank_lines_holding_spaces(tmp_path: Path) -> None:
    # A blank line with spaces or a tab in it is folded into the next binding.
    _, problems = parse_env_file(write(tmp_path / ".env", "A=1\n  \n\t\nbad line\n"))
    assert one(problems).where == ".env:4"


def test_line_numbers_with_windows_line_endings(tmp_path: Path) -> None:
    _, problems = parse_env_file(write(tmp_path / ".env", "A=1\r\n\r\nbad line\r\n"))
    assert one(problems).where == ".env:3"


def test_empty_value_in_example_is_required_when_unset(tmp_path: Path) -> None:
    settings = load(tmp_path, example="PROJECT=demo\nADMIN_EMAIL=\n")
    problem = one(settings.problems)
    assert problem.where == ".env.example:2"
    assert "ADMIN_EMAIL is required" in problem.message
    assert "ADMIN_EMAIL=" in problem.fix
    assert ".env" in problem.fix


def test_required_variable_set_in_dotenv_is_fine(tmp_path: Path) -> None:
    settings = load(tmp_path, example="ADMIN_EMAIL=\n", env="ADMIN_EMAIL=me@example.org\n")
    assert settings.problems == []
    assert settings["ADMIN_EMAIL"] == "me@example.org"


def test_required_variable_set_in_environment_is_fine(tmp_path: Path) -> None:
    settings = load(tmp_path, example="ADMIN_EMAIL=\n", environ={"ADMIN_EMAIL": "me@x.org"})
    assert settings.problems == []
    assert settings["ADMIN_EMAIL"] == "me@x.org"
    assert settings.where("ADMIN_EMAIL") == "the environment"


def test_required_variable_set_empty_in_dotenv_is_still_missing(tmp_path: Path) -> None:
    settings = load(tmp_path, example="ADMIN_EMAIL=\n", env="ADMIN_EMAIL=\n")
    assert "ADMIN_EMAIL is required" in one(settings.problems).message


def test_precedence_example_then_dotenv_then_environment(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        example="A=example\nB=example\nC=example\n",
        env="B=dotenv\nC=dotenv\n",
        environ={"C": "environ", "UNRELATED": "x"},
    )
    assert settings.problems == []
    assert (settings["A"], settings["B"], settings["C"]) == ("example", "dotenv", "environ")
    assert settings.where("A") == ".env.example:1"
    assert settings.where("B") == ".env:1"
    assert settings.where("C") == "the environment"
    # Names known to neither file are readable only with an explicit default.
    assert settings.get("UNRELATED", "default") == "x"
    assert list(settings.values) == ["A", "B", "C"]


def test_int_reads_numbers(tmp_path: Path) -> None:
    settings = load(tmp_path, example="HTTP_PORT=80\n", env="HTTP_PORT=8080\n")
    assert settings.int("HTTP_PORT", 80) == 8080
    assert settings.int("NOT_SET", 443) == 443
    assert settings.problems == []


def test_int_on_a_non_number_names_where_it_came_from(tmp_path: Path) -> None:
    settings = load(tmp_path, example="HTTP_PORT=80\n", env="# ports\nHTTP_PORT=eighty\n")
    assert settings.int("HTTP_PORT", 80) == 80
    problem = one(settings.problems)
    assert problem.where == ".env:2"
    assert "HTTP_PORT='eighty' is not a whole number" in problem.message
    assert "HTTP_PORT=80" in problem.fix


def test_int_on_a_non_number_from_the_environment(tmp_path: Path) -> None:
    settings = load(tmp_path, example="HTTP_PORT=80\n", environ={"HTTP_PORT": "8o8o"})
    settings.int("HTTP_PORT", 80)
    problem = one(settings.problems)
    assert problem.where == "the environment"
    assert "'8o8o'" in problem.message


# --- strictness: undeclared names, and where each value came from ---------------------


def test_undeclared_variable_is_an_error_naming_it(tmp_path: Path) -> None:
    settings = load(tmp_path, example="A=1\n", environ={"ECHO_PORT": "9000"})
    for read in (lambda: settings["ECHO_PORT"], lambda: settings.get("ECHO_PORT"),
                 lambda: settings.int("ECHO_PORT")):
        with pytest.raises(UndeclaredSetting) as raised:
            read()
        assert raised.value.name == "ECHO_PORT"
        assert "ECHO_PORT=<default> to .env.example" in str(raised.value)


def test_explicit_default_reads_an_undeclared_name_leniently(tmp_path: Path) -> None:
    settings = load(tmp_path, example="A=1\n", environ={"FROM_ENV": "e"})
    assert settings.get("MISSING", "fallback") == "fallback"
    assert settings.get("FROM_ENV", "fallback") == "e"
    assert settings.int("PORT", 8080) == 8080
    assert settings.problems == []


def test_values_handed_out_remember_their_variable_and_line(tmp_path: Path) -> None:
    settings = load(tmp_path, example="ISOLATED_SUBNET=10.0.10.0/24\nHTTP_PORT=80\n",
                    env="# mine\n\nISOLATED_SUBNET=10.5.0.0/24\n")
    assert settings["ISOLATED_SUBNET"] == "10.5.0.0/24"
    assert settings.int("HTTP_PORT") == 80
    assert settings.handed_out == {
        "10.5.0.0/24": (Origin("ISOLATED_SUBNET", ".env:3"),),
        "80": (Origin("HTTP_PORT", ".env.example:2"),)}


def test_one_value_from_two_variables_remembers_both(tmp_path: Path) -> None:
    settings = load(tmp_path, example="A=x\nB=x\n")
    settings.get("A"), settings.get("B"), settings.get("A")
    assert settings.handed_out["x"] == (Origin("A", ".env.example:1"),
                                        Origin("B", ".env.example:2"))
