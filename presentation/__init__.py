"""Read models: what a page, a PDF and (later) the API show of a launch, gathered once.

Below the interfaces (``web``, ``reports``, ``api``) and above the domain apps, whose selectors
these build on: each function here takes rows the domain already fetched (or fetches them in a
fixed number of queries) and returns plain values, localised words and escaped SVG, so that the
page and the report say the same thing in the same words. Nothing here imports an interface or
names one of its URLs: links are the interface's to build."""
