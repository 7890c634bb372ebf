set(deps gantry_runtime_image)
