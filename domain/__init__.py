"""The shared vocabulary: families, actions, service specs, status algebra and rendering (pure data and functions)."""
