#compdef glm-image

_glm_image_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _GLM_IMAGE_COMPLETE=complete_zsh glm-image)
}

compdef _glm_image_completion glm-image
