"""Demo documents for Inès Martin's vault (``sillage demo``): two certificates as small PDFs and a photo
of her Christmas display, generated here (no binary files in the repository), tagged, and attached as
evidence to the experience, diploma and skills they prove. Stored through ``documents.store`` like any
upload, so they are encrypted, sniffed and thumbnailed for real.

Idempotent: the vault is filled once, when it holds none of these documents (an account created by an
older ``sillage demo`` gets them on the next run); anything else in it is left alone.
"""
from __future__ import annotations

import io
from datetime import datetime, timezone

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Diploma, Document, Experience, Skill, User
from app.services import documents, vault_keys

INES = "ines.martin@example.org"


def pdf(title: str, lines: list[str]) -> bytes:
    """A one-page A4 PDF with a title and lines of text in Helvetica (WinAnsi: French accents work).

    Written by hand, about 1 KB: the demo needs a real, valid PDF, not a PDF library."""
    def text(value: str) -> str:
        raw = value.encode("cp1252")
        return raw.decode("latin-1").replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    body = [f"BT /F2 16 Tf 72 770 Td ({text(title)}) Tj ET"]
    y = 730
    for line in lines:
        body.append(f"BT /F1 11 Tf 72 {y} Td ({text(line)}) Tj ET")
        y -= 18 if line else 10
    stream = "\n".join(body).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def display_photo() -> bytes:
    """A small drawn "photo" of a Christmas plant display: shelves, pots, a fir, price tags."""
    image = Image.new("RGB", (640, 480), (236, 229, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 360, 640, 480), fill=(120, 98, 76))  # floor
    for y in (150, 250, 350):  # shelves
        draw.rectangle((40, y, 300, y + 10), fill=(150, 115, 80))
        for x in range(55, 290, 48):
            draw.rectangle((x, y - 34, x + 30, y), fill=(176, 84, 52))  # pot
            draw.ellipse((x - 8, y - 70, x + 38, y - 28), fill=(46, 125, 60))  # plant
            draw.rectangle((x + 4, y + 12, x + 26, y + 24), fill=(250, 250, 240))  # price tag
    draw.polygon([(470, 60), (370, 340), (570, 340)], fill=(25, 95, 50))  # fir
    draw.rectangle((455, 340, 485, 380), fill=(100, 70, 40))
    for x, y, colour in ((440, 170, (200, 30, 40)), (500, 230, (230, 190, 40)), (420, 290, (200, 30, 40)),
                         (520, 300, (240, 240, 250)), (470, 120, (230, 190, 40))):
        draw.ellipse((x - 9, y - 9, x + 9, y + 9), fill=colour)  # baubles
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _items(session: Session, user: User, model, attribute: str, values: tuple[str, ...]) -> list:
    column = getattr(model, attribute)
    return list(session.scalars(select(model).where(model.portfolio_id == user.portfolio.id,
                                                    column.in_(values))))


def load(session: Session) -> None:
    """Fill Inès's vault (see the module docstring); does nothing if she does not exist."""
    user = session.scalars(select(User).where(User.email == INES)).first()
    if user is None or user.portfolio is None:
        return
    if session.scalar(select(Document.id).where(Document.portfolio_id == user.portfolio.id).limit(1)):
        return
    # Inès is made in this same transaction: her data key too, here, rather than by the service's own
    # short transaction for a first upload (which could not see her yet, and would wait on our lock).
    vault_keys.data_key_for(session, user)
    specs = [
        ("Attestation PFMP — Jardinerie Vert Bocage.pdf", pdf(
            "Attestation de période de formation en milieu professionnel", [
                "Je soussignée Mme Laura Perrin, responsable du rayon végétal de la Jardinerie Vert Bocage",
                "(Saint-Sébastien-sur-Loire), atteste que", "",
                "Inès Martin, élève de terminale bac pro Métiers du commerce et de la vente, option A,",
                "au lycée professionnel Les Trois-Rivières (Rezé),", "",
                "a effectué une PFMP de cinq semaines dans notre magasin, du 17 novembre au 19 décembre 2025.",
                "Activités : conseil aux clients, montage de l'îlot de Noël, suivi des commandes fournisseurs.",
                "Appréciation : élève ponctuelle, souriante et force de proposition.", "",
                "Fait à Saint-Sébastien-sur-Loire, le 19 décembre 2025.", "Laura Perrin, responsable de rayon"]),
         "Signée par la responsable du rayon végétal à la fin de la PFMP.", ["attestation", "pfmp", "stage"],
         [(Experience, "title", "PFMP — conseillère de vente au rayon végétal")]),
        ("Îlot de Noël — rayon végétal.png", display_photo(),
         "L'îlot de Noël que j'ai monté avec la responsable de rayon.", ["merchandising", "pfmp", "photo"],
         [(Experience, "title", "PFMP — conseillère de vente au rayon végétal"),
          (Skill, "name", "Appliquer les techniques de merchandising")]),
        ("Certificat SST — Inès Martin.pdf", pdf(
            "Certificat de Sauveteur secouriste du travail (SST)", [
                "Délivré à : Inès Martin", "Formation suivie au lycée professionnel Les Trois-Rivières, Rezé",
                "Session du 17 au 21 mars 2025 — 14 heures", "", "Numéro de certificat : SST-2025-0417",
                "Valable 24 mois, jusqu'au 21 mars 2027.", "", "Formateur : M. Karim Benali, habilité INRS"]),
         "", ["certificat", "secourisme"],
         [(Diploma, "title", "Certificat Sauveteur secouriste du travail (SST)"), (Skill, "name", "Porter secours")]),
    ]
    for when, (name, data, description, tags, links) in zip(("2025-12-19", "2025-12-20", "2025-03-21"), specs):
        document = documents.store(session, user, name, [data], tags=tags, description=description)
        document.created_at = document.updated_at = datetime.fromisoformat(when).replace(hour=18,
                                                                                        tzinfo=timezone.utc)
        for model, attribute, value in links:
            for item in _items(session, user, model, attribute, (value,)):
                documents.link(session, user, document, item)
    session.flush()
