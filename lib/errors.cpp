#include "errors.hpp"

namespace abri::errors {

http::Error session_expired() {
    return {401, "session_expired",
            "Cette conversation est terminée ou a expiré. Vous pouvez en commencer une nouvelle."};
}

http::Error not_found() { return {404, "not_found", "Cette adresse n'existe pas."}; }

http::Error method_not_allowed() {
    return {405, "method_not_allowed", "Cette action n'est pas permise ici."};
}

http::Error unavailable() {
    return {503, "unavailable", "Le service est momentanément surchargé. Réessayez dans un instant."};
}

}  // namespace abri::errors
