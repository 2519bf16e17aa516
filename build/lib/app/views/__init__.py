"""One module per part of the page; each draws what it is handed (`app.fetch`) and returns the
values its widgets give."""
