"""`byokgate emulate`: serve provider emulators in the foreground, for the demo and manual testing.

byokgate emulate --provider openai --port 9001 --key sk-test
byokgate emulate --provider all --port 9001 --any-key   # every provider of `runner.PROVIDERS`, in order
byokgate emulate --provider mistral --provider azure --port 9101 --key k   # mistral :9101, azure :9102
"""

from __future__ import annotations

import click

from byokgate.emulators.runner import PROVIDERS, build, serve


@click.command("emulate")
@click.option(
    "--provider",
    "providers",
    multiple=True,
    type=click.Choice([*PROVIDERS, "all"]),
    default=("all",),
    show_default=True,
    help="Provider to emulate; repeat for several, or 'all'. They take consecutive ports from --port.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=9001, show_default=True, type=click.IntRange(1, 65535), help="First port.")
@click.option("--key", "keys", multiple=True, help="A valid API key (repeatable).")
@click.option("--any-key", is_flag=True, help="Accept any non-empty bearer key.")
@click.option("--no-record", is_flag=True, help="Do not keep the request log (for load benchmarks).")
@click.option("--stream-delay-ms", default=0, type=click.IntRange(0), help="Pause between stream chunks.")
def emulate(
    providers: tuple[str, ...],
    host: str,
    port: int,
    keys: tuple[str, ...],
    any_key: bool,
    no_record: bool,
    stream_delay_ms: int,
) -> None:
    """Serve provider emulators (OpenAI, Groq, OpenRouter, Gemini, Anthropic, Mistral, DeepSeek, xAI,
    Together, Fireworks, Cerebras, Perplexity, Azure OpenAI) until interrupted."""
    if not keys and not any_key:
        raise click.UsageError("give at least one --key, or --any-key")
    names = list(PROVIDERS) if "all" in providers else list(dict.fromkeys(providers))
    emulators = [
        build(name, keys, accept_any_key=any_key, record=not no_record, stream_chunk_delay_ms=stream_delay_ms)
        for name in names
    ]
    for index, emulator in enumerate(emulators):
        click.echo(f"{emulator.name:<11} http://{host}:{port + index}{emulator.base_path}")
    click.echo(f"control API: http://{host}:<port>/_emulator/  (Ctrl-C to stop)")
    serve(emulators, host=host, port=port)
