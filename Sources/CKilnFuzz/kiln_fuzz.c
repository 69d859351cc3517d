// Nothing to compile: the target exists for its header's declaration.
#include "kiln_fuzz.h"
