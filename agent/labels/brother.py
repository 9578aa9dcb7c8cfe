"""Brother QL label printers: raster for 62 mm endless tape, and the printer on USB.

The raster format is Brother's (``brother_ql``, GPL-3.0, writes it); the printer shows up
as a USB printer-class device (``/dev/usb/lpN``) whose USB vendor is Brother (04f9).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from agent.labels.draw import Label, draw_label

BROTHER_USB_VENDOR = "04f9"
#: 62 mm endless tape: 696 printable dots across at 300 dpi.
TAPE = "62"
TAPE_WIDTH_MM = 62 * 696 / 732  # the printable part of the 62 mm tape
DEFAULT_MODEL = "QL-700"


@dataclass(frozen=True)
class UsbPrinter:
    device: Path
    product: str


def raster(image: Image.Image, *, model: str = DEFAULT_MODEL) -> bytes:
    """Brother QL raster commands that print ``image`` on 62 mm tape and cut."""
    return raster_pages([image], model=model)


def raster_pages(images: list[Image.Image], *, model: str = DEFAULT_MODEL) -> bytes:
    """One print job: every image a label of its own, each cut off."""
    from brother_ql.conversion import convert
    from brother_ql.raster import BrotherQLRaster

    qlr = BrotherQLRaster(model)
    qlr.exception_on_warning = True
    convert(qlr, [image.convert("L") for image in images], TAPE, rotate="0", threshold=50.0,
            dither=False, compress=False, red=False, dpi_600=False, hq=True, cut=True)  # fmt: skip
    data: bytes = qlr.data
    return data


def tape_label(label: Label, length_mm: float = 29.0) -> Image.Image:
    """``label`` drawn for 62 mm tape: exactly the printable width in dots."""
    img = draw_label(label, TAPE_WIDTH_MM, length_mm, dpi=300)
    if img.width != 696:  # rounding of the millimetres: the raster wants 696 dots exactly
        img = img.crop((0, 0, 696, img.height)) if img.width > 696 else _pad(img, 696)
    return img


def _pad(img: Image.Image, width: int) -> Image.Image:
    out = Image.new("1", (width, img.height), 1)
    out.paste(img, (0, 0))
    return out


def find_printers(sys_root: Path = Path("/")) -> list[UsbPrinter]:
    """Brother printers attached over USB (``/sys/class/usbmisc/lpN``)."""
    found: list[UsbPrinter] = []
    usbmisc = sys_root / "sys" / "class" / "usbmisc"
    for entry in sorted(usbmisc.glob("lp*")) if usbmisc.is_dir() else []:
        usb = (entry / "device").resolve().parent  # the USB device above the interface
        try:
            vendor = (usb / "idVendor").read_text().strip().lower()
            product = (usb / "product").read_text().strip() if (usb / "product").exists() else ""
        except OSError:
            continue
        if vendor == BROTHER_USB_VENDOR:
            found.append(UsbPrinter(sys_root / "dev" / "usb" / entry.name, product))
    return found


def send(printer: UsbPrinter, data: bytes) -> None:
    """Write the raster to the printer (the kernel's usblp driver passes it through)."""
    with open(printer.device, "wb", buffering=0) as fh:
        fh.write(data)
