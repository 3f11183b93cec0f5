"""The desk's screens, the model they render (`desk`) and the engine event buffer (`feed`)."""
