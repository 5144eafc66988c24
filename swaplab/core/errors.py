"""The one exception type the CLI turns into a single clear line."""


class SwaplabError(Exception):
    """A problem with the user's input or environment, explained in one line.

    The CLI prints ``error: <message>`` and exits with status 2, no traceback.
    Messages name the file and the problem.
    """


class TooFewSamplesError(SwaplabError):
    """A split or a training run refuses: too few scores, faces or windows of one kind to measure with.

    ``study run`` adds the build's failed swaps to the message, when it has any: they may be why.
    """


class NoFaceError(SwaplabError):
    """An input holds no face, or no detection clear enough to be one.

    An extraction of one input ends with it; of several, that input is left out with a warning, and the
    extraction ends with it only when no input has a face.
    """
