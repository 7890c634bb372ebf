set(deps gantry_model_registry)
