"""manager.cli.jsonlog's RotatingFileHandler: rotates exactly as logging.handlers.RotatingFileHandler does,
formatting each record once."""

import logging
import logging.handlers
from pathlib import Path

from manager.cli.jsonlog import JsonFormatter, RotatingFileHandler


def _log_lines(handler: logging.Handler, count: int) -> None:
    logger = logging.Logger("jsonlog-test")
    logger.addHandler(handler)
    for i in range(count):
        logger.info("line %d %s", i, "x" * (i % 7))
    handler.close()


def _files(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(folder.iterdir())}


def test_rotates_like_the_stock_handler(tmp_path):
    ours, stock = tmp_path / "ours", tmp_path / "stock"
    ours.mkdir()
    stock.mkdir()
    (ours / "svcbot.log").write_text("from an earlier run\n")
    (stock / "svcbot.log").write_text("from an earlier run\n")
    formatter = logging.Formatter("%(levelname)s %(message)s")
    handler = RotatingFileHandler(ours / "svcbot.log", max_bytes=200, backups=3)
    handler.setFormatter(formatter)
    reference = logging.handlers.RotatingFileHandler(stock / "svcbot.log", maxBytes=200, backupCount=3)
    reference.setFormatter(formatter)

    _log_lines(handler, 100)
    _log_lines(reference, 100)

    assert _files(ours) == _files(stock)
    assert list(_files(ours)) == ["svcbot.log", "svcbot.log.1", "svcbot.log.2", "svcbot.log.3"]


def test_formats_each_record_once(tmp_path):
    formatted = []

    class Counting(JsonFormatter):
        def format(self, record: logging.LogRecord) -> str:
            formatted.append(record)
            return super().format(record)

    handler = RotatingFileHandler(tmp_path / "svcbot.log", max_bytes=10_000, backups=3)
    handler.setFormatter(Counting())
    _log_lines(handler, 5)

    assert len(formatted) == 5
    assert len((tmp_path / "svcbot.log").read_text().splitlines()) == 5


def test_never_rotates_what_is_not_a_regular_file(tmp_path):
    handler = RotatingFileHandler(Path("/dev/null"), max_bytes=10, backups=3)
    _log_lines(handler, 20)  # no rename of /dev/null, no error
    assert not Path("/dev/null.1").exists()
