"""One readable line for an exception, whatever wrapped it."""

from __future__ import annotations

from saliency_widgets._messages import describe


def test_autograph_frames_are_dropped():
    error = ValueError(
        'in user code:\n\n    File "engine.py", line 106, in step  *\n'
        "        logits = model(x)\n\n    ValueError: Input 0 is incompatible"
    )
    assert describe(error) == "ValueError: Input 0 is incompatible"


def test_keras_ansi_and_indented_context_are_dropped():
    error = ValueError(
        "Exception encountered when calling Dense.call().\n\n"
        "\x1b[1mInput has 3 channels\x1b[0m\n\nArguments received:\n  • inputs=tf.Tensor"
    )
    assert describe(error) == (
        "ValueError: Exception encountered when calling Dense.call(). Input has 3 channels "
        "Arguments received:"
    )


def test_long_messages_are_cut_and_empty_ones_say_so():
    assert describe(RuntimeError("x" * 50), limit=20) == "RuntimeError: xxxxx…"
    assert describe(KeyError()) == "KeyError: (no message)"
