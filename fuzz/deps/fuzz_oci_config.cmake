set(deps gantry_runtime_oci_spec)
