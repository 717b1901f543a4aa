"""Sift's icons from the one drawing, resources/icons/sift.svg.

    python packaging/make_icons.py --png        re-render the committed PNGs after editing the SVG
                                                (rsvg-convert if installed, else Qt's SVG renderer)
    python packaging/make_icons.py OUT_DIR      write sift.ico (Windows) and sift.icns (macOS) from
                                                the PNGs with Pillow; the build does this, so no
                                                binary icon container is committed

Each PNG is rendered from the SVG at its own size (not scaled down from a big one), and the
.ico/.icns embed those renders, so the 16 and 32 px icons stay crisp.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
SVG = ICONS / "sift.svg"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return ICONS / f"sift-{size}.png"


def render_pngs() -> list[Path]:
    """Render SVG → sift-<size>.png for every size in SIZES."""
    rsvg = shutil.which("rsvg-convert")
    out = []
    for size in SIZES:
        target = png_path(size)
        if rsvg:
            subprocess.run([rsvg, "-w", str(size), "-h", str(size), str(SVG), "-o", str(target)],
                           check=True)
        else:
            _render_with_qt(size, target)
        out.append(target)
    return out


def _render_with_qt(size: int, target: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["make_icons", "-platform", "offscreen"])
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    if not image.save(str(target)):
        raise OSError(f"could not write {target}")


def make_containers(out_dir: Path) -> tuple[Path, Path]:
    """sift.ico and sift.icns in ``out_dir``, built from the committed PNGs."""
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    images = {size: Image.open(png_path(size)).convert("RGBA") for size in SIZES}
    ico = out_dir / "sift.ico"
    ico_sizes = [s for s in SIZES if s <= 256]
    # Pillow uses an appended image of the exact size when there is one, else scales the first.
    images[256].save(ico, format="ICO", sizes=[(s, s) for s in ico_sizes],
                     append_images=[images[s] for s in ico_sizes if s != 256])
    icns = out_dir / "sift.icns"
    images[512].save(icns, format="ICNS",
                     append_images=[images[s] for s in SIZES if s != 512])
    return ico, icns


def main(argv: list[str]) -> int:
    if argv[:1] == ["--png"]:
        for p in render_pngs():
            print(p.relative_to(ROOT))
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    for p in make_containers(Path(argv[0])):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
