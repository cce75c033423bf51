_glm_image_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _GLM_IMAGE_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _glm_image_completion glm-image
