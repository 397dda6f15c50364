def make_interactions_demo(fake, rng, users):
    pass
