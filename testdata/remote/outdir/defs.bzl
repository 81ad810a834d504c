"""A rule whose one action writes an output directory (a TreeArtifact)."""

def _tree_impl(ctx):
    out = ctx.actions.declare_directory(ctx.attr.name)
    ctx.actions.run_shell(
        outputs = [out],
        command = " && ".join([
            "mkdir -p {out}/top/middle/bottom {out}/empty_sibling/inner",
            "echo 'at the top' > {out}/top/top.txt",
            "echo 'in the middle' > {out}/top/middle/middle.txt",
            "echo 'at the bottom' > {out}/top/middle/bottom/bottom.txt",
            "echo 'beside' > {out}/empty_sibling/inner/beside.txt",
            "printf '#!/bin/sh\\necho run\\n' > {out}/top/tool.sh",
            "chmod +x {out}/top/tool.sh",
        ]).format(out = out.path),
        mnemonic = "MakeTree",
        progress_message = "Writing directory %s" % out.short_path,
    )
    return [DefaultInfo(files = depset([out]))]

tree = rule(implementation = _tree_impl)
