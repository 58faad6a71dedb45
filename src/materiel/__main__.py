from materiel.cli import app

app()
