"""The film order: the objects a client sent for its films, read into the print model.

The network layer hands each N-CREATE and N-SET data set here as it arrived;
the same code reads a stored order again when the render stage replays it, so
a film printed, reprinted or re-rendered is always the film the client asked for.
"""
