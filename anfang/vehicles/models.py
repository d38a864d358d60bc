"""Vehicles and parking: lists, passages, barrier decisions, occupancy, plate search (Art 9, 11, 12, 33(2))."""
