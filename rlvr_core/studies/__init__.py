"""One module per notebook: its sizes for each PROFILE (one ``sizes(profile)`` function), the
analysis its cells call and the sentences it prints. Notebooks stay narrative and calls; the numbers
a sentence quotes are computed here, where tests can reach them."""
