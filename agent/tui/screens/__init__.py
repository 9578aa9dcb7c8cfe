"""The station's screens, in the order a volunteer meets them."""
