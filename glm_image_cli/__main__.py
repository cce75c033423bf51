"""`python -m glm_image_cli` runs the same CLI as the `glm-image` console script."""

from glm_image_cli.cli.entry import main

main()
