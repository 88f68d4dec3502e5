from django.http import JsonResponse


def healthz(request):  # placeholder until the foundation lands
    return JsonResponse({"status": "ok"})
