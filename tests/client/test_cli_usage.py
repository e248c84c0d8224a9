"""The shop CLI refuses bad use with exit 2 and one line, before it connects to anything."""
import pytest

from tfvisrec.client.cli import main


@pytest.mark.parametrize("args, message", [
    (["recommend", "--user", "u", "--k", "0"], "--k must be at least 1, got 0"),
    (["outfit-item", "--user", "u", "--items", "a", "", "--slot", "shoes", "--k", "-1"], "--k must be at least 1"),
    (["recommend", "--user", "u", "--timeout", "0"], "--timeout must be a positive number of seconds"),
    (["recommend", "--user", "u", "--timeout", "nan"], "--timeout must be a positive number of seconds"),
    (["recommend", "--user", "u", "--retries", "-1"], "--retries must be 0 or more"),
    (["--target", " ", "recommend", "--user", "u"], "--target is empty"),
    (["--target", "localhost", "recommend", "--user", "u"], "--target 'localhost' has no port: pass host:port, e.g. localhost:8500"),
    (["--target", "::1", "recommend", "--user", "u"], "e.g. [::1]:8500"),   # gRPC would dial port 443
    (["--target", "http://shop.example:8500", "status"],   # gRPC: 'Misformatted domain name'
     "--target 'http://shop.example:8500' is a URL: pass the gRPC server's host:port, e.g. shop.example:8500"),
    (["--target", "http://localhost:8501/v1/models/dvbpr", "status"],
     "is a URL: pass the gRPC server's host:port, e.g. localhost:8500 (8501 is TF Serving's REST port)"),
    (["generate", "--user", "u", "--category", "top", "--n", "0"], "--n must be at least 1"),
    (["status", "--version", "2", "--label", "stable"], "pass --version or --label, not both"),
])
def test_bad_use_exits_2_naming_the_option(args, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--target", "127.0.0.1:1", *args] if args[0] != "--target" else args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err


@pytest.mark.parametrize("target", ["localhost:8500", "[::1]:8500", "dns:///shop.example:8500", "unix:/run/tfs.sock"])
def test_targets_with_a_port_or_a_grpc_scheme_pass(target):
    from tfvisrec.client.cli import _lacks_port
    assert not _lacks_port(target)


@pytest.mark.parametrize("args", [["--helpfull"], ["--helpshort"], ["recommend", "--helpfull"], ["--help"]])
def test_help_of_any_name_prints_the_usage_and_exits_0(args, capsys):
    """README: every command line exits 0 after --help, --helpshort or --helpfull; the client's
    argparse took the last two for a missing command ('the following arguments are required:
    command', exit 2)."""
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m tfvisrec.client") and "--helpfull" not in out, out
