"""The widget's building blocks: thumbnails, class picker, panels."""

from __future__ import annotations

import numpy as np

from saliency_widgets.widget._parts import FAILED_MARK, MARK, NO_MARK, ClassPicker, ThumbnailStrip
from saliency_widgets.widget.testing import find


def strip(count=10, per_page=4, picked=None):
    return ThumbnailStrip(
        count,
        picture=lambda i: bytes([i]),
        tooltip=lambda i: f"image {i}",
        on_pick=(picked if picked is not None else []).append,
        per_page=per_page,
        size=20,
    )


def test_thumbnails_page_and_click(frontend):
    picked: list[int] = []
    thumbs = strip(picked=picked)
    assert thumbs.pages == 3
    images = [image.value for image in find(thumbs, "sw-thumb-image")]
    assert images == [b"\x00", b"\x01", b"\x02", b"\x03"]
    buttons, (following,) = find(thumbs, "sw-thumb"), find(thumbs, "sw-next-page")
    frontend.click(buttons[1])
    frontend.click(following)
    frontend.click(following)
    assert find(thumbs, "sw-page")[0].value == "page 3 / 3" and following.disabled
    cells = find(thumbs, "sw-thumb-cell")
    assert [cell.layout.visibility for cell in cells] == ["visible"] * 2 + ["hidden"] * 2
    frontend.click(buttons[1])
    frontend.click(buttons[3])  # an empty slot does nothing
    assert picked == [1, 9]
    assert buttons[1].style.button_color == "transparent"


def test_marking_the_current_and_failed_images():
    thumbs = strip()
    cells = find(thumbs, "sw-thumb-cell")
    thumbs.mark(2, failed={1})
    assert [cell.layout.border for cell in cells] == [NO_MARK, FAILED_MARK, MARK, NO_MARK]
    thumbs.mark(5)  # turns to page 2
    assert thumbs.page == 1
    assert cells[1].layout.border == MARK
    thumbs.mark(0)
    assert cells[2].layout.border == NO_MARK


def test_class_picker_rows_and_typing(frontend):
    picked, unknown = [], []
    picker = ClassPicker(["cat", "dog", "Eel", "fox"], 2, picked.append, unknown.append)
    probabilities = np.array([0.1, 0.6, 0.05, 0.25])
    picker.update(probabilities, [1, 3], selected=2, true_label=0, activation="softmax")
    rows = [(r.class_index, r.button.description, r.text.value, r.note.value) for r in picker.rows]
    assert rows == [
        (1, "dog", "60.0%", ""),
        (3, "fox", "25.0%", ""),
        (0, "cat", "10.0%", "✓ true (not top)"),
        (2, "Eel", "5.0%", "(not top)"),
    ]
    assert [r.button.button_style for r in picker.rows] == ["", "", "", "primary"]
    frontend.click(picker.rows[1].button)
    frontend.set(picker.other, value="eel")
    frontend.set(picker.other, value="3")
    frontend.set(picker.other, value="wolf")
    assert picked == [3, 2, 3] and unknown == ["wolf"]
    picker.update(np.array([1.5, -2.0, 0.0, 3.0]), [3, 0], 3, None, activation="none")
    assert picker.rows[0].text.value == "3" and picker.rows[0].bar.layout.visibility == "hidden"
    assert picker.rows[2].layout.display == "none"
    picker.update(None, [], None, None, "softmax")
    assert all(row.layout.display == "none" for row in picker.rows)
