"""From structures to VASP inputs: species order, POTCARs (and, later, input sets and the campaign)."""
