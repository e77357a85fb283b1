# One named target per table or figure, e.g. `snakemake --cores all table5`.


def table_outputs(name):
    return [f"{REPORTS}/{SCALE}/{name}.{ext}" for ext in ("csv", "md", "tex")]


def figure_outputs(name):
    return [f"{REPORTS}/{SCALE}/{name}.{ext}" for ext in ("png", "pdf")]


def report_outputs(name):
    return figure_outputs(name) if name in PLAN.figures else table_outputs(name)


for _name in [*PLAN.tables, *PLAN.figures]:

    rule:
        name:
            _name
        input:
            report_outputs(_name),
