"""Contact sheets: labelled crops of chosen video frames on one PNG, for a person to judge a video at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.workspace import write_bytes

TILE = 200  # pixels across one crop on the sheet
LABEL = 34  # pixels of caption under each crop
LABEL_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # has the IPA letters the captions name phonemes with


def contact_sheet(frames: dict[int, np.ndarray], picks: list[tuple[int, str]], box: tuple[int, int, int, int], out: Path, columns: int = 5) -> Path:
    """``out``: the region ``box`` (x0, y0, x1, y1) of each picked frame (RGB, by index in ``frames``), captioned, in rows of ``columns``."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    x0, y0, x1, y1 = box
    height = round(TILE * (y1 - y0) / max(1, x1 - x0))
    rows = -(-len(picks) // columns)
    sheet = Image.new("RGB", (columns * TILE, max(1, rows) * (height + LABEL)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(LABEL_FONT, 13) if Path(LABEL_FONT).is_file() else ImageFont.load_default(size=13)
    for slot, (index, label) in enumerate(picks):
        if index not in frames:
            continue
        crop = Image.fromarray(np.ascontiguousarray(frames[index][y0:y1, x0:x1])).resize((TILE, height), Image.Resampling.LANCZOS)
        left, top = (slot % columns) * TILE, (slot // columns) * (height + LABEL)
        sheet.paste(crop, (left, top))
        draw.text((left + 4, top + height + 2), label, fill="black", font=font)
        draw.text((left + 4, top + height + 17), f"frame {index}", fill="dimgray", font=font)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return write_bytes(out, buffer.getvalue())
