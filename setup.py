"""Build hook: the Alembic migrations ship inside the installed package, as ``app/migrations``.

They live in the checkout's top-level ``migrations/`` folder (where Flask-Migrate, the Makefile and
every new migration expect them), which a wheel has no place for. ``build_py`` therefore copies them
under ``app`` in the build, and ``app.migrations_directory()`` looks there first: a wheel or a
``pip install .`` can run ``sillage db upgrade``, and an editable checkout keeps using the folder
itself. The same step compiles the French catalogue (``.mo`` files are not committed), so that a wheel
built from a fresh checkout speaks French too. Everything else is declared in setup.cfg.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class BuildPyWithMigrations(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "app" / "migrations"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(MIGRATIONS, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"))
        self._compile_catalogues(Path(self.build_lib) / "app" / "translations")

    @staticmethod
    def _compile_catalogues(folder: Path) -> None:
        from babel.messages.mofile import write_mo  # a build requirement (pyproject.toml)
        from babel.messages.pofile import read_po

        for po in folder.glob("*/LC_MESSAGES/*.po"):
            with po.open("rb") as source:
                catalogue = read_po(source, locale=po.parent.parent.name)
            with po.with_suffix(".mo").open("wb") as target:
                write_mo(target, catalogue)


setup(cmdclass={"build_py": BuildPyWithMigrations})
